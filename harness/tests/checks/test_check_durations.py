"""A check's duration counts its fixtures: its own setup and teardown, and the module's
experiment it shares with other checks; the session's stack is nobody's."""

from __future__ import annotations

import json

import pytest

from harness.checks.evidence import EvidenceLog
from harness.faults.injector import FaultWindow

pytest_plugins = ["pytester"]

EXPERIMENT_S = 0.6
OWN_SETUP_S = 0.2
STACK_S = 0.8

SCENARIO = f"""
import time
import pytest
from harness import check


def marked(check_id):
    return check(check_id, "t", category="degraded", severity="HIGH")


@pytest.fixture(scope="session")
def stack_like():
    time.sleep({STACK_S})


@pytest.fixture(scope="module")
def outage(stack_like):
    time.sleep({EXPERIMENT_S})
    yield


@pytest.fixture
def own_step():
    time.sleep({OWN_SETUP_S})
    yield
    time.sleep({OWN_SETUP_S})


@marked("T-001")
def test_first_user_of_the_experiment(outage, own_step):
    pass


@marked("T-002")
def test_second_user_of_the_experiment(outage):
    pass


@marked("T-003")
def test_without_the_experiment():
    time.sleep({OWN_SETUP_S})
"""


@pytest.fixture
def results(pytester: pytest.Pytester) -> dict[str, dict[str, object]]:
    pytester.makeconftest('pytest_plugins = ["harness.checks.plugin"]')
    pytester.makepyfile(test_timing=SCENARIO)
    out = pytester.path / "results.json"
    run = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--readiness-results={out}")
    run.assert_outcomes(passed=3)
    return {r["check"]["id"]: r for r in json.loads(out.read_text())["results"]}


def test_the_shared_experiment_is_shown_with_every_check_that_uses_it(
    results: dict[str, dict[str, object]],
) -> None:
    for check_id in ("T-001", "T-002"):
        phases = results[check_id]["phases"]
        assert isinstance(phases, dict)
        assert phases["shared outage"] >= EXPERIMENT_S, (check_id, phases)
        assert float(results[check_id]["duration_s"]) >= EXPERIMENT_S
    assert "shared outage" not in results["T-003"]["phases"]


def test_own_setup_and_teardown_count_and_the_stack_does_not(
    results: dict[str, dict[str, object]],
) -> None:
    first = results["T-001"]["phases"]
    assert isinstance(first, dict)
    # The first check's setup ran the stack and the experiment; only its own step is its own.
    assert OWN_SETUP_S <= first["setup"] < OWN_SETUP_S + 0.3, first
    assert first["teardown"] >= OWN_SETUP_S, first
    total = float(results["T-001"]["duration_s"])
    assert total < EXPERIMENT_S + 2 * OWN_SETUP_S + STACK_S / 2, first
    assert float(results["T-003"]["duration_s"]) >= OWN_SETUP_S


def test_a_fault_window_is_placed_on_the_check_clock() -> None:
    log = EvidenceLog()
    window = FaultWindow("cut", "redis", started_at=log.started_at + 2.0)
    window.ended_at = log.started_at + 5.5
    window.observe("connections dropped by the cut", 3)
    log.fault(window)
    item = log.items[-1]
    assert item.kind == "fault" and item.label == "fault window: cut redis"
    assert (item.value["start_s"], item.value["end_s"]) == (2.0, 5.5)
    assert "connections dropped by the cut: 3" in item.value["proof"]
    log.fault(window, origin=log.started_at - 10)
    assert log.items[-1].value["start_s"] == 12.0


FAULTS_SCENARIO = """
import time
from types import SimpleNamespace

import pytest
from harness import check
from harness.faults.injector import FaultInjector, FaultWindow


@pytest.fixture
def faults(evidence):
    # The injector the plugin's own `faults` fixture yields, over a stack that is not
    # needed here: the windows are written as a scenario's faults would leave them.
    return FaultInjector(SimpleNamespace(toxiproxy=None))


@check("T-010", "t", category="degraded", severity="HIGH")
def test_with_a_fault(faults, evidence):
    window = FaultWindow("cut", "redis", started_at=evidence.started_at + 1.0)
    window.ended_at = evidence.started_at + 3.0
    faults.windows.append(window)
    evidence.series("gauge", [(0.0, 0.0), (2.0, 1.0), (4.0, 0.0)])
"""


def test_the_fault_windows_of_a_check_are_in_its_evidence(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["harness.checks.plugin"]')
    pytester.makepyfile(test_faults=FAULTS_SCENARIO)
    out = pytester.path / "results.json"
    run = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--readiness-results={out}")
    run.assert_outcomes(passed=1)
    (result,) = json.loads(out.read_text())["results"]
    faults = [e for e in result["evidence"] if e["kind"] == "fault"]
    assert len(faults) == 1, result["evidence"]
    assert (faults[0]["value"]["start_s"], faults[0]["value"]["end_s"]) == (1.0, 3.0)
    assert faults[0]["label"] == "fault window: cut redis"
