"""Load runs against a real local stack: SLOs judged and failing when tightened,
distributed mode merging its workers' stats, faults marked in the timeline.

Runs are short (10-12 users, 15-36 s): these tests show the machinery, the
figures of record come from `readiness load --users 100 --duration 120`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from harness.load import (
    LoadOptions,
    LoadOutcome,
    assert_slos_met,
    evaluate_run,
    load_on_stack,
)
from harness.load.slo import SloFile
from harness.load.timeline import AFTER, BEFORE, DURING
from harness.platform.local import LocalPlatform, default_components

JOURNEYS = {"auth", "chat", "realtime", "polls", "files", "calls"}
#: One user of every class at least (the weights add up to 12).
USERS = 12
#: Thresholds nothing measured here comes near: the pass path.
LOOSE = {"p95_ms": 60_000, "p99_ms": 60_000, "max_error_ratio": 1.0, "min_rps": 0}


@pytest.fixture(scope="module")
def load_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPlatform]:
    platform = LocalPlatform(tmp_path_factory.mktemp("load-stack"), default_components())
    platform.up()
    yield platform
    platform.down()


@pytest.fixture(scope="module")
def loose_slo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("slo") / "loose.yaml"
    path.write_text(yaml.safe_dump({"journeys": {j: LOOSE for j in JOURNEYS}}))
    return path


def _journeys(outcome: LoadOutcome) -> set[str]:
    return {r.journey for r in outcome.stats.journey_rows if r.requests}


def _tightened(outcome: LoadOutcome) -> SloFile:
    """Every journey's p95 set to half of what its fastest step measured."""
    rows = outcome.stats.journey_rows
    journeys = {}
    for journey in JOURNEYS:
        fastest = min(r.p95_ms or 0 for r in rows if r.journey == journey)
        journeys[journey] = {**LOOSE, "p95_ms": max(fastest / 2, 0.1)}
    return SloFile.model_validate({"journeys": journeys})


def test_a_load_check_fails_when_an_slo_is_tightened_past_the_measurement(
    load_stack: LocalPlatform, loose_slo: Path, tmp_path: Path
) -> None:
    options = LoadOptions(users=USERS, spawn_rate=12, duration_s=15, slo_path=loose_slo)
    outcome = load_on_stack(load_stack, options, tmp_path / "load")
    assert _journeys(outcome) == JOURNEYS
    assert_slos_met(outcome)  # within thresholds nothing comes near

    tight = evaluate_run(outcome.stats, _tightened(outcome), USERS)
    outcome.report = tight
    with pytest.raises(AssertionError, match=r"SLO\(s\) breached: .* ms \(SLO <= .* ms\)"):
        assert_slos_met(outcome)
    # Only steps with enough samples are judged (MIN_SAMPLES); those journeys all breach.
    judged = {m.journey for m in tight.measures if m.metric == "p95" and not m.unjudged}
    assert judged and {m.journey for m in tight.breaches if m.metric == "p95"} == judged
    summary = json.loads((tmp_path / "load" / "summary.json").read_text())
    assert summary["total_requests"] > 0 and summary["load_average"]["start"]
    for name in ("locust_stats.csv", "locust_stats_history.csv", "locust.html", "timeline.html"):
        assert (tmp_path / "load" / name).is_file(), name


def test_the_cli_exits_1_on_a_breach_and_reports_it(
    load_stack: LocalPlatform, tmp_path: Path
) -> None:
    tight = tmp_path / "tight.yaml"
    tight.write_text(yaml.safe_dump({"journeys": {j: {"p95_ms": 0.01} for j in JOURNEYS}}))
    gateway = load_stack.endpoint("gateway").url or ""
    argv = [
        sys.executable, "-m", "harness.cli", "load", "--target", gateway,
        "--users", str(USERS), "--spawn-rate", "12", "--duration", "10", "--slo", str(tight),
        "--state-file", str(tmp_path / "none.json"), "--report-root", str(tmp_path / "reports"),
    ]  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 1, result.stderr[-3000:]
    assert f"target: {gateway} (--target)" in result.stderr
    assert "BREACHED" in result.stderr and "SLO(s) breached" in result.stderr
    results = json.loads((tmp_path / "reports" / "latest" / "results.json").read_text())
    (load,) = results["results"]
    assert load["check"]["id"] == "LOAD-001" and load["status"] == "fail"
    assert "(SLO <= 0.01 ms) BREACHED" in load["message"]
    report = (tmp_path / "reports" / "latest" / "report.md").read_text()
    assert "## LOAD & SLO MEASUREMENTS" in report and "❌ BREACHED" in report


def test_two_workers_run_the_same_journeys_and_the_master_merges_their_stats(
    load_stack: LocalPlatform, loose_slo: Path, tmp_path: Path
) -> None:
    options = LoadOptions(users=USERS, spawn_rate=12, duration_s=15, workers=2, slo_path=loose_slo)
    outcome = load_on_stack(load_stack, options, tmp_path / "load")
    assert _journeys(outcome) == JOURNEYS
    (meta,) = outcome.stats.meta
    assert meta.requests == 2, "each worker reports one META row; the master merged both"
    total = sum(r.requests for r in outcome.stats.journey_rows)
    assert outcome.stats.aggregated is not None
    assert outcome.stats.aggregated.requests == total + meta.requests
    for index in (1, 2):
        assert (tmp_path / "load" / f"locust-worker-{index}.log").is_file()
    assert_slos_met(outcome)


def test_an_s3_cut_fails_only_the_file_journey_and_fast(
    load_stack: LocalPlatform, tmp_path: Path
) -> None:
    options = LoadOptions(users=USERS, spawn_rate=12, duration_s=36, fault="s3-down", fault_s=12)
    outcome = load_on_stack(load_stack, options, tmp_path / "load")
    assert outcome.window is not None and outcome.window.scenario == "s3-down"
    assert outcome.inert_fault is None, outcome.fault_proof
    during = outcome.phases[DURING]
    assert during["files"].failures > 0, "the cut did not reach the file journey"
    assert during["files"].max_p95_ms is not None and during["files"].max_p95_ms < 1000
    for journey in JOURNEYS - {"files"}:
        assert during[journey].requests > 0 and during[journey].failures == 0, journey
    assert outcome.phases[BEFORE]["files"].error_ratio < during["files"].error_ratio
    window = [m for m in outcome.report.measures if m.metric.startswith("during fault")]
    assert window and all(m.ok for m in window), [m.line() for m in window if not m.ok]
    summary = json.loads((tmp_path / "load" / "summary.json").read_text())
    start, end = summary["fault_seconds"]
    assert 10 <= start < end and end - start == pytest.approx(12, abs=1.5)
    assert 'fill="#c62828"' in (tmp_path / "load" / "timeline.html").read_text()


def test_a_redis_cut_keeps_auth_and_chat_under_one_percent_errors(
    load_stack: LocalPlatform, tmp_path: Path
) -> None:
    options = LoadOptions(users=USERS, spawn_rate=12, duration_s=36, fault="redis-down", fault_s=12)
    outcome = load_on_stack(load_stack, options, tmp_path / "load")
    assert outcome.inert_fault is None and "dropped by the cut" in outcome.fault_proof[0]
    for journey in ("auth", "chat"):
        for phase in (DURING, AFTER):
            seen = outcome.phases[phase][journey]
            assert seen.requests > 0 and seen.error_ratio < 0.01, (journey, phase, seen)


def _cli_load(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [
        sys.executable, "-m", "harness.cli", "load", "--users", str(USERS),
        "--spawn-rate", "12", "--report-root", str(tmp_path / "reports"), *args,
    ]  # fmt: skip
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)


def test_the_cli_uses_the_running_stack_and_faults_it_through_its_state_file(
    load_stack: LocalPlatform, loose_slo: Path, tmp_path: Path
) -> None:
    state = tmp_path / "stack.json"
    info = load_stack.info()
    info.supervisor_pid = os.getpid()  # this test's process owns the stack
    info.write(state)
    result = _cli_load(
        tmp_path, "--state-file", str(state), "--slo", str(loose_slo),
        "--duration", "26", "--fault", "s3-down", "--fault-duration", "6",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"(the running stack in {state})" in result.stderr
    assert "during s3-down:" in result.stderr
    summary = json.loads(next((tmp_path / "reports").glob("*/load/summary.json")).read_text())
    assert summary["fault"]["scenario"] == "s3-down"
    # What the cut did is proven at the proxy; whether two file users with 3-8 s
    # pauses reach S3 inside a 6 s window is chance (the 12 s test above asserts it).
    assert summary["inert_fault"] is None
    assert any("dropped by the cut" in line for line in summary["fault_proof"])
    assert load_stack.toxiproxy.proxy("s3").enabled, "the cut was not undone"


def test_with_no_stack_up_the_cli_starts_one_for_the_run_and_says_so(
    loose_slo: Path, tmp_path: Path
) -> None:
    state = tmp_path / "no-stack.json"
    result = _cli_load(tmp_path, "--state-file", str(state), "--slo", str(loose_slo),
                       "--duration", "8")  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "no stack is up: starting a local stack for this run" in result.stderr
    assert "(a local stack started for this run)" in result.stderr
    assert not state.exists()
