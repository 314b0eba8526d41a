"""Hypothesis: nothing the run publishes holds one of its secrets.

Steady state: everything the other checks of the run did (this check runs last).
Journey: every kind of secret a run handles, once (harness.checks.artifacts:
a password, the mailed verification token, access, refresh and device tokens, a
rotated pair, a WebSocket authenticated in its URL, presigned upload and download
links, TURN credentials, logout).
Expectations: no artifact of the run, as it will be published, holds any of the
run's secrets (every value its clients were handed or sent, and the stack's own
secrets) or any JWT: the run folder's files (pytest.log, Allure results, histories,
load outputs) after the end-of-run redaction, results.json, report.md and
report.html rendered from the results so far by the report's own code, JUnit from
pytest's reporter, and every component's log as it will be copied.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from harness import RUN_SECRETS, SECRET_NAMES, ApiClient, EvidenceLog, Platform, check
from harness.checks import RunSoFar, artifacts

LEAK_COLUMNS = ("artifact", "line", "excerpt (secret redacted)")


@check(
    "SEC-010",
    "No artifact of the run (reports, results.json, JUnit, Allure, logs, evidence) holds "
    "one of its secrets",
    category="security",
    severity="HIGH",
    finding="Secrets management: the harness's report.html, results.json and Allure results "
    "held a test user's live access and refresh tokens",
    fix="Redact secrets where they are recorded (evidence, messages) and in every file the "
    "run writes (harness/redaction.py); a component that logs a secret must stop logging it.",
    impact="Anyone who can read CI artifacts or a shared report takes over test accounts and, "
    "with the stack's keys, the services themselves.",
)
def test_no_secret_in_any_artifact(
    stack: Platform,
    api: ApiClient,
    gateway_url: str,
    capture_url: str,
    run_so_far: RunSoFar,
    evidence: EvidenceLog,
    tmp_path: Path,
) -> None:
    for step in artifacts.secret_journey(api, gateway_url, capture_url):
        evidence.note("handled", step)
    secrets = [*RUN_SECRETS.values(), *(stack.secret(name) for name in SECRET_NAMES)]
    found = [
        *(artifacts.run_folder(run_so_far.run_dir) if run_so_far.run_dir is not None else []),
        *artifacts.rendered_reports(run_so_far.results, stack.backend, tmp_path / "reports"),
        *[a for a in [artifacts.junit(run_so_far.config)] if a is not None],
        *artifacts.component_logs({name: stack.logs(name) for name in stack.names()}),
    ]
    leaks, scanned = artifacts.scan(found, secrets)
    evidence.number("secrets of the run looked for", len(secrets))
    evidence.number("artifacts scanned", scanned)
    kinds = Counter(a.name.split("/")[0] for a in found)
    evidence.note("artifacts", ", ".join(f"{kind} ×{n}" for kind, n in sorted(kinds.items())))
    evidence.number("lines holding a secret", len(leaks))
    if leaks:
        evidence.table("where secrets were found", LEAK_COLUMNS, [k.row() for k in leaks[:50]])
    assert not leaks, f"{len(leaks)} line(s) hold a secret: " + "; ".join(
        f"{k.artifact}:{k.line}" for k in leaks[:5]
    )
