"""How the plugin turns what a check raised, and where, into pass, fail or unknown."""

from __future__ import annotations

import pytest

from harness.tests.checks.scenario_runs import run_checks

pytest_plugins = ["pytester"]

SCENARIO = """
import pytest
from harness import check
from harness.errors import InertFault, UnhealthyStack


def marked(check_id):
    return check(check_id, "t", category="degraded", severity="BLOCKER")


@pytest.fixture
def inert_fault():
    yield
    raise InertFault("the toxic saw no connection")


@pytest.fixture(scope="module")
def experiment(experiment_evidence):
    experiment_evidence.note("register", "500 Internal Server Error")
    raise AssertionError("step register answered 500")


@pytest.fixture
def broken_fixture():
    raise KeyError("a bug in the harness")


@marked("T-001")
def test_passes_with_an_inert_fault(inert_fault):
    pass


@marked("T-002")
def test_fails_with_an_inert_fault(inert_fault):
    raise AssertionError("the system broke anyway")


@marked("T-003")
def test_unhealthy_stack():
    raise UnhealthyStack("redis did not come back")


@marked("T-004")
def test_step_of_the_fixture_fails(experiment):
    pass


@marked("T-005")
def test_bug_in_a_fixture(broken_fixture):
    pass


@marked("T-006")
def test_system_times_out():
    raise TimeoutError("no answer")
"""

EXPECTED = {
    "T-001": "unknown",
    "T-002": "fail",
    "T-003": "unknown",
    "T-004": "fail",
    "T-005": "error",
    "T-006": "fail",
}


def test_statuses_follow_what_was_raised_and_where(pytester: pytest.Pytester) -> None:
    recorded = list(run_checks(pytester, SCENARIO).values())
    statuses = {r["check"]["id"]: r["status"] for r in recorded}
    assert statuses == EXPECTED
    messages = {r["check"]["id"]: r["message"] for r in recorded}
    assert "saw no connection" in messages["T-001"]
    assert "step register answered 500" in messages["T-004"]
    evidence = {r["check"]["id"]: r["evidence"] for r in recorded}
    assert evidence["T-004"] == [
        {"kind": "text", "label": "register", "value": "500 Internal Server Error", "unit": ""}
    ]
