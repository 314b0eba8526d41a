"""A load run whose fault touched no traffic is not judged: unknown, exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.checks.model import Status
from harness.errors import InertFault
from harness.load import LoadOutcome, assert_slos_met, evaluate_run, read_stats
from harness.load.report import load_result
from harness.load.slo import SloFile
from harness.load.timeline import FaultWindow
from harness.tests.load.csvdata import stats_row, write_run

SLO = SloFile.model_validate({"reference_users": 1, "journeys": {"auth": {"p95_ms": 500}}})
INERT = "fault proven inert, the check proves nothing: cut redis: no traffic touched"


def _outcome(tmp_path: Path, inert: str | None) -> LoadOutcome:
    rows = [stats_row("POST", "auth: login", 100, 0, 120, 300, 2.5)]
    stats = read_stats(write_run(tmp_path / "locust", rows, None))
    return LoadOutcome(
        tmp_path, "http://127.0.0.1:1", "test", 1, 0, stats, evaluate_run(stats, SLO, users=1),
        FaultWindow("redis-down", 10.0, 40.0), fault_proof=[INERT.split(": ", 1)[1]],
        inert_fault=inert,
    )  # fmt: skip


def test_an_inert_fault_is_unknown_not_a_pass(tmp_path: Path) -> None:
    outcome = _outcome(tmp_path, INERT)
    assert outcome.report.passed, "every SLO met: without the proof this would pass"
    assert outcome.exit_code == 2
    result = load_result(outcome, 60.0)
    assert result.check.id == "LOAD-002" and result.status == Status.UNKNOWN
    assert "no traffic touched" in result.message
    with pytest.raises(InertFault, match="no traffic touched"):
        assert_slos_met(outcome)


def test_a_proven_fault_is_judged(tmp_path: Path) -> None:
    outcome = _outcome(tmp_path, None)
    assert outcome.exit_code == 0 and load_result(outcome, 60.0).status == Status.PASS
    assert_slos_met(outcome)
