"""The report folders the audit-report tests read: built once, rendered in Chromium.

Three report folders, each a history of runs: a partial-scope run (one
category), a run with a failed BLOCKER and a skipped one (after runs in which
a check flipped), and a GO → NO-GO change with a run of another scope in
between.
"""

from __future__ import annotations

import pytest

from harness.checks.model import Severity, Status
from harness.tests.report.runs import (
    Rendered,
    blocker_results,
    make,
    publish_run,
    rendered,
    security_results,
)


@pytest.fixture(scope="package")
def partial(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    root = tmp_path_factory.mktemp("partial")
    return rendered(publish_run(root, "run-1", security_results(), categories=["security"]))


@pytest.fixture(scope="package")
def blocker(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    """The newest of four runs of one scope, smoke profile; SEC-002 passed and failed by turns."""
    root = tmp_path_factory.mktemp("blocker")
    history = [Status.PASS, Status.FAIL, Status.PASS, Status.FAIL]
    published = None
    for day, sec_002 in enumerate(history, start=1):
        deg_001 = Status.FAIL if day == len(history) else Status.PASS
        published = publish_run(
            root,
            f"run-{day}",
            blocker_results(deg_001, sec_002),
            profile="smoke",
            started_at=f"2026-11-2{day}T10:00:00Z",
        )
    assert published is not None
    return rendered(published)


@pytest.fixture(scope="package")
def go_to_no_go(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    """GO, then a run of another scope (security only, failing), then NO-GO."""
    root = tmp_path_factory.mktemp("diff")
    passing = [make(f"SEC-00{i}", Status.PASS, Severity.BLOCKER) for i in (1, 2)]
    publish_run(root, "run-1", passing, started_at="2026-11-21T10:00:00Z")
    other = [make("SEC-001", Status.FAIL, Severity.BLOCKER)]
    publish_run(root, "run-2", other, categories=["security"], started_at="2026-11-22T10:00:00Z")
    failing = [
        make("SEC-001", Status.PASS, Severity.BLOCKER),
        make("SEC-002", Status.FAIL, Severity.BLOCKER),
        make("SEC-003", Status.FAIL, Severity.BLOCKER),  # a check the GO run did not have
    ]
    return rendered(publish_run(root, "run-3", failing, started_at="2026-11-23T10:00:00Z"))
