"""The report an auditor signs, read in Chromium: every point of the audit-report issue.

The report folders (conftest.py): a partial-scope run, a run with a failed
BLOCKER and a skipped one after runs in which a check flipped, and a GO → NO-GO
change with a run of another scope in between.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.checks.model import Check, CheckResult, Severity, Status
from harness.load.chart import window_chart
from harness.report.publish import PublishedRun, publish
from harness.tests.report.runs import (
    PASSING_EVIDENCE,
    POLICY,
    Rendered,
    components,
    publish_run,
    security_results,
)

# -- 1. scope --------------------------------------------------------------------------


def test_the_scope_block_names_what_was_judged_and_what_was_not(blocker: Rendered) -> None:
    scope = blocker.text("scope-table")
    assert "Backend local" in scope and "Profile smoke" in scope
    assert "Categories judged Container Health & Restart Stability" in scope
    assert "Categories not judged" in scope and "Inter-Service Connectivity" in scope
    assert "Services judged postgres, redis" in scope and "chat-1, chat-2" in scope
    assert "Services not started none" in scope
    assert "1 selected but unknown: STOR-001 (skipped)" in scope
    assert "1 left out: full profile only (this run: smoke)" in scope
    assert re.search(r"Commit [0-9a-f]{12}", scope), scope
    assert "CPUs" in blocker.text("scope-machine") and "RAM" in blocker.text("scope-machine")
    not_judged = blocker.text("unknown-table")
    assert "STOR-001" in not_judged and "the stack has no storage" in not_judged
    assert "full profile only" in blocker.text("left-out-table")


def test_a_partial_scope_says_so_in_its_badge(
    partial: Rendered, tmp_path_factory: pytest.TempPathFactory
) -> None:
    assert partial.text("verdict-badge") == "GO — security only"
    assert partial.published.badge == "GO — security only"
    results = json.loads((partial.published.run_dir / "results.json").read_text())
    assert results["scope"]["badge"] == "GO — security only" and results["scope"]["partial"]
    note = partial.text("partial-scope")
    assert note.startswith("Partial scope (security only):") and "2 check(s)" in note
    assert "category not selected (this run: security)" in partial.text("left-out-table")
    assert "2 left out: category not selected" in partial.text("scope-not-judged")
    assert "### ✅ GO — security only" in partial.markdown
    # A stack without some services: the badge names them.
    root = tmp_path_factory.mktemp("services")
    stack = components(services=("gateway", "auth"))
    fewer = publish_run(root, "run-1", security_results()[:2], services=["auth"], stack=stack)
    assert fewer.badge == "GO — without chat, video, storage, backup"


# -- 2. counts and the diff ------------------------------------------------------------


def test_counts_show_failed_and_unknown_checks_of_every_severity(blocker: Rendered) -> None:
    categories = blocker.text("category-table")
    # Passed, then the seed audit's rows of the category (25 core flows, 8 degraded).
    assert "Auth, Chat, Video, Storage Core Flows ? NOT JUDGED 0% 0/1 25 1 unknown" in categories
    assert "Redis/S3/DB Degraded Mode ✘ FAIL 50% 1/2 8 1 failed" in categories
    assert "Load & SLO ⚠️ PARTIAL 0% 0/1 - " in categories, "the seed had no load category"
    severities = blocker.text("severity-table")
    assert "BLOCKER 2 1 1 1 skipped 4" in severities
    assert (
        "| **Auth, Chat, Video, Storage Core Flows** | ❔ NOT JUDGED | 0% | 0/1 | 1 unknown |"
        in (blocker.markdown)
    )
    assert "| **Auth, Chat, Video, Storage Core Flows** | 25 | 0/1 |" in blocker.markdown


def test_the_diff_names_the_verdict_change_and_compares_like_with_like(
    go_to_no_go: Rendered,
) -> None:
    diff = go_to_no_go.published.run_dir / "diff.json"
    assert '"previous_run": "run-1"' in diff.read_text(), "the other scope's run was the baseline"
    assert go_to_no_go.text("verdict-change") == "Verdict changed: GO → NO-GO"
    assert "like with like" in go_to_no_go.text("diff")
    assert go_to_no_go.text("diff-new-failures") == "SEC-002 (BLOCKER), SEC-003 (BLOCKER)"
    assert go_to_no_go.text("diff-fixed") == "none"
    assert "- Verdict: GO → NO-GO (**changed**)" in go_to_no_go.markdown


# -- 3. findings and evidence ----------------------------------------------------------


def test_each_finding_has_impact_root_cause_fix_and_seed_finding(blocker: Rendered) -> None:
    finding = blocker.text("finding-DEG-001")
    assert finding.startswith("BLOCKER-1: DEG-001 title")
    assert "Impact users lose what DEG-001 guards" in finding
    assert "Root cause (as measured) AssertionError: DEG-001 broke" in finding
    assert "statuses during the outage" in finding and "login latency p95" in finding
    assert "Fix the fix for DEG-001" in finding
    assert "Seed finding seed finding answered by DEG-001" in finding
    skipped = blocker.text("finding-STOR-001")
    assert "not judged (skipped): the stack has no storage" in skipped
    assert "- **Impact:** users lose what DEG-001 guards" in blocker.markdown


def test_evidence_is_open_for_failures_and_on_paper(blocker: Rendered) -> None:
    rows = blocker.dom.split('<tr id="check-')
    failed = next(r for r in rows if r.startswith("DEG-001"))
    passed = next(r for r in rows if r.startswith("SEC-001"))
    assert '<details class="evidence" open="">' in failed
    assert '<details class="evidence">' in passed and PASSING_EVIDENCE in passed
    assert "@media print" in blocker.dom
    assert "details::details-content { content-visibility: visible" in blocker.dom


def test_slo_rows_not_judged_are_not_green(blocker: Rendered) -> None:
    assert '<tr class="slo-not-judged">' in blocker.dom
    row = blocker.dom.split('<tr class="slo-not-judged">')[1].split("</tr>")[0]
    assert 'class="not-judged"' in row and 'class="met"' not in row
    assert '<td class="breached">BREACHED</td>' in blocker.dom


# -- 4. inventory ----------------------------------------------------------------------


def test_the_inventory_tables_come_from_the_stack_and_the_compose_files(
    blocker: Rendered,
) -> None:
    health = blocker.text("inventory-health")
    assert "backup GET http://127.0.0.1:8080/health 30s 60s unless-stopped backup" in health
    assert "toxiproxy not in the production compose files" in health
    connectivity = blocker.text("inventory-connectivity")
    gateway = "gateway ${GATEWAY_PORT:-8080}:8080 redis (healthy), auth (healthy), chat (healthy)"
    assert gateway in connectivity
    resources = blocker.text("inventory-resources")
    assert "chat 512m 0.5 256 90 MiB + 90 MiB" in resources
    headers = blocker.text("inventory-headers")
    assert "chat-2 ✔ ✔ ✔ ✔ ✔ ✔ ✔" in headers and "DENY" in headers
    secrets = blocker.text("inventory-secrets")
    assert "jwt_secret ./secrets/jwt_secret SC_JWT_SECRET_FILE (migrations, auth" in secrets
    assert "### Secrets Management" in blocker.markdown


# -- 5. trends -------------------------------------------------------------------------


def test_trends_chart_the_runs_and_name_the_flaky_check(blocker: Rendered) -> None:
    runs = blocker.text("runs-table")
    assert runs.startswith("Run Started Scope Verdict Score run-4 (this run)")
    assert 'aria-label="score and verdict per run"' in blocker.dom
    flips = blocker.text("flips-table")
    assert "SEC-002: SEC-002 title" in flips and "FLAKY: passed and failed by turns" in flips
    assert re.search(r"DEG-001: .* BLOCKER ✔ ✔ ✔ ✘ regressed", flips), flips


# -- 7. charts and durations -----------------------------------------------------------


def test_charts_label_their_axes_tick_sensibly_and_shade_fault_windows(blocker: Rendered) -> None:
    assert 'class="fault-window"' in blocker.dom and ">cut redis<" in blocker.dom
    assert "seconds since the experiment began; shaded: fault window" in blocker.dom
    assert ">milliseconds</text>" in blocker.dom and ">per second</text>" in blocker.dom
    tick_labels = re.findall(r'text-anchor="end">([^<]*)</text>', blocker.dom)
    assert "1.0" in tick_labels and "0.2" in tick_labels, tick_labels
    assert not [t for t in tick_labels if "e-" in t or "e+" in t], tick_labels
    # The load timeline of a journey that never failed: no 1e-09/s on its axis.
    idle = window_chart({"files": [[0.0, 0.0], [30.0, 0.0]]}, "failures", "/s", (10.0, 20.0))
    assert "e-0" not in idle and ">per second</text>" in idle and 'class="fault-window"' in idle


def test_durations_count_the_experiment_a_check_shares(blocker: Rendered) -> None:
    row = blocker.dom.split('<tr id="check-DEG-002">')[1].split("</tr>")[0]
    assert "28.1 s" in row and "shared outage 28.0 s" in row


def _run_with_a_local_only_check(root: Path, backend: str, categories: list[str]) -> PublishedRun:
    """A run on `backend` of `categories` whose suite holds ROB-005, judged on local only."""
    local_only = Check(
        "ROB-005", "throttles", "robustness", Severity.HIGH, impact="x", backends=("local",)
    )
    results = [*security_results()[:1], CheckResult(local_only, Status.NOT_RUN, in_scope=False)]
    (root / "run-1").mkdir()
    return publish(
        root / "run-1", "run-1", "2026-11-25T10:00:00Z", backend, "full", categories, results,
        POLICY, root, components=components(),
    )  # fmt: skip


def test_a_check_another_backend_judges_is_left_out_and_named(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    published = _run_with_a_local_only_check(tmp_path_factory.mktemp("backend"), "docker", [])
    assert published.badge.endswith("1 check(s) not judged on the docker backend")
    scope = json.loads((published.run_dir / "results.json").read_text())["scope"]
    assert scope["not_judged"] == [
        {
            "check": "ROB-005",
            "status": "not run",
            "reason": "judged on the local backend only (this run: docker)",
        }
    ]


def test_a_check_left_out_by_category_is_not_counted_as_left_out_by_backend(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    root = tmp_path_factory.mktemp("category-and-backend")
    published = _run_with_a_local_only_check(root, "docker", ["security"])
    assert published.badge == "GO — security only"
