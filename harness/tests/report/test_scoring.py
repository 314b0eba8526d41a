"""Category scores, severity counts and the verdict policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.checks.model import Severity, Status
from harness.checks.scoring import Policy, Verdict, score
from harness.errors import PolicyError
from harness.tests.report.results import result

POLICY = Policy.load()


def test_all_passing_is_go() -> None:
    card = score([result("SEC-001", Status.PASS), result("SEC-002", Status.PASS)], POLICY)
    assert card.verdict == Verdict.GO and card.score == 1.0


def test_a_failed_blocker_is_no_go_and_a_failed_high_conditional() -> None:
    blocker = score([result("SEC-001", Status.FAIL, Severity.BLOCKER)], POLICY)
    high = score([result("SEC-001", Status.FAIL, Severity.HIGH)], POLICY)
    medium = score([result("SEC-001", Status.FAIL, Severity.MEDIUM)], POLICY)
    assert blocker.verdict == Verdict.NO_GO
    assert "1 BLOCKER" in blocker.reasons[0]
    assert high.verdict == Verdict.CONDITIONAL
    assert medium.verdict == Verdict.GO


UNKNOWN = [Status.UNKNOWN, Status.NOT_RUN, Status.SKIPPED, Status.ERROR]


@pytest.mark.parametrize("status", UNKNOWN)
def test_an_unknown_blocker_is_never_a_go_nor_a_failure(status: Status) -> None:
    card = score([result("SEC-001", status, Severity.BLOCKER)], POLICY)
    assert card.verdict == Verdict.INCONCLUSIVE
    assert card.passed == 0 and card.total == 1
    assert card.unknown_by_severity == {"BLOCKER": 1} and not card.failed_by_severity
    assert "unknown" in card.reasons[0]
    assert Verdict.INCONCLUSIVE in POLICY.gate_fails_on


@pytest.mark.parametrize("status", UNKNOWN)
def test_an_unknown_high_is_conditional(status: Status) -> None:
    card = score([result("SEC-001", status, Severity.HIGH)], POLICY)
    assert card.verdict == Verdict.CONDITIONAL


def test_a_failed_blocker_outranks_an_unknown_one() -> None:
    card = score(
        [
            result("SEC-001", Status.UNKNOWN, Severity.BLOCKER),
            result("SEC-002", Status.FAIL, Severity.BLOCKER),
        ],
        POLICY,
    )
    assert card.verdict == Verdict.NO_GO and card.reasons == ["1 BLOCKER check(s) failed"]


def test_strict_mode_counts_unknown_as_failed(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        "no_go_on_failed: [BLOCKER]\nconditional_on_failed: [HIGH]\n"
        "unknown_counts_as_failed: true\ngate_fails_on: ['NO-GO']\n"
    )
    card = score([result("SEC-001", Status.SKIPPED, Severity.BLOCKER)], Policy.load(path))
    assert card.verdict == Verdict.NO_GO


def test_the_policy_raises_invariant_and_authorization_checks_to_blocker() -> None:
    card = score([result("INV-001", Status.FAIL, Severity.HIGH)], POLICY)
    assert card.verdict == Verdict.NO_GO and card.failed_by_severity == {"BLOCKER": 1}
    assert POLICY.severity_of("AUTHZ-001", Severity.MEDIUM) == Severity.BLOCKER
    assert POLICY.severity_of("SEC-001", Severity.MEDIUM) == Severity.MEDIUM


def test_checks_out_of_scope_are_not_judged() -> None:
    card = score(
        [
            result("SEC-001", Status.PASS),
            result("SEC-002", Status.NOT_RUN, Severity.BLOCKER, in_scope=False),
        ],
        POLICY,
    )
    assert card.verdict == Verdict.GO and card.total == 1


def test_category_scores_and_severity_counts() -> None:
    card = score(
        [
            result("SEC-001", Status.PASS),
            result("SEC-002", Status.FAIL, Severity.MEDIUM),
            result("OBS-001", Status.FAIL, Severity.HIGH, "observability"),
        ],
        POLICY,
    )
    by_key = {c.category: c for c in card.categories}
    assert by_key["security"].score == 0.5
    assert by_key["observability"].failed_by_severity["HIGH"] == 1
    assert card.failed_by_severity == {"MEDIUM": 1, "HIGH": 1}


def test_a_minimum_score_makes_a_weak_run_no_go(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        "no_go_on_failed: [BLOCKER]\nconditional_on_failed: [HIGH]\nminimum_score: 0.9\n"
        "gate_fails_on: ['NO-GO']\n"
    )
    card = score(
        [result("SEC-001", Status.PASS), result("SEC-002", Status.FAIL, Severity.LOW)],
        Policy.load(path),
    )
    assert card.verdict == Verdict.NO_GO and "below the minimum" in card.reasons[0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no_go_on_failed: [BLOCKER", "not valid YAML"),
        ("- a list", "must be a mapping"),
        ("conditional_on_failed: []\ngate_fails_on: []\n", "lacks the key no_go_on_failed"),
        ("no_go_on_failed: [FATAL]\nconditional_on_failed: []\ngate_fails_on: []\n", "bad value"),
    ],
)
def test_a_broken_policy_is_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    with pytest.raises(PolicyError, match=message):
        Policy.load(path)
    with pytest.raises(PolicyError, match="cannot read"):
        Policy.load(tmp_path / "missing.yaml")
