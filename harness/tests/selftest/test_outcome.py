"""Caught means: every listed check ended as expected, at the expected (policy) severity."""

from __future__ import annotations

import json
from pathlib import Path

from harness.checks.model import Check, CheckResult, Severity, Status
from harness.checks.scoring import Policy
from harness.selftest.catalogue import Defect, Expectation
from harness.selftest.outcome import DefectOutcome, SelftestOutcome, judge, rows, write

POLICY = Policy.load()  # floors INV-* at BLOCKER


def result(check_id: str, status: Status, severity: Severity = Severity.HIGH) -> CheckResult:
    return CheckResult(Check(check_id, "t", "degraded", severity), status, message="why")


def defect(*expectations: Expectation) -> Defect:
    return Defect("DEF-T-X", "t", "degraded", "env", expectations, Path("DEF-T-X.yaml"))


def outcome_of(expectation: Expectation, got: CheckResult | None) -> DefectOutcome:
    return DefectOutcome(defect(expectation), [judge(expectation, got, POLICY)])


def test_a_failed_check_at_the_expected_severity_catches() -> None:
    expectation = Expectation("DEG-002", Severity.HIGH)
    assert outcome_of(expectation, result("DEG-002", Status.FAIL)).caught


def test_a_pass_an_error_or_not_running_misses() -> None:
    expectation = Expectation("DEG-002", Severity.HIGH)
    for got in (result("DEG-002", Status.PASS), result("DEG-002", Status.ERROR), None):
        assert not outcome_of(expectation, got).caught


def test_the_severity_is_judged_after_the_policy_floors() -> None:
    floored = Expectation("INV-001", Severity.BLOCKER)
    assert outcome_of(floored, result("INV-001", Status.FAIL, Severity.HIGH)).caught
    declared = Expectation("INV-001", Severity.HIGH)
    missed = outcome_of(declared, result("INV-001", Status.FAIL, Severity.HIGH))
    assert not missed.caught and "at BLOCKER, expected fail at HIGH" in missed.why_missed()


def test_an_inert_fault_defect_wants_unknown_never_pass() -> None:
    expectation = Expectation("DEG-004", Severity.MEDIUM, expect="unknown")
    assert outcome_of(expectation, result("DEG-004", Status.UNKNOWN, Severity.MEDIUM)).caught
    assert not outcome_of(expectation, result("DEG-004", Status.PASS, Severity.MEDIUM)).caught
    assert not outcome_of(expectation, result("DEG-004", Status.FAIL, Severity.MEDIUM)).caught


def test_every_listed_check_must_catch() -> None:
    first, second = Expectation("DEG-002", Severity.HIGH), Expectation("OBS-005", Severity.HIGH)
    verdicts = [
        judge(first, result("DEG-002", Status.FAIL), POLICY),
        judge(second, result("OBS-005", Status.PASS), POLICY),
    ]
    assert not DefectOutcome(defect(first, second), verdicts).caught


def test_a_reason_misses_whatever_the_checks(tmp_path: Path) -> None:
    expectation = Expectation("DEG-002", Severity.HIGH)
    missed = DefectOutcome(defect(expectation), [judge(expectation, None, POLICY)], "no patch")
    caught = outcome_of(expectation, result("DEG-002", Status.FAIL))
    outcome = SelftestOutcome([missed, caught], {"DEG-002": "pass"}, 12.0, tmp_path)
    assert outcome.exit_code == 1 and outcome.missed == [missed]
    assert [row[-1] for row in rows(outcome)] == ["missed", "caught"]
    as_json, as_markdown = write(outcome)
    report = json.loads(as_json.read_text())
    assert (report["caught"], report["missed"]) == (1, 1)
    assert report["defects"][0]["why_missed"] == "no patch"
    assert "**1 of 2 defects caught**" in as_markdown.read_text()
