"""No cascades: a check starts from a repaired stack, or is unknown when none can be had;
a check that judges a component alone starts whatever state the services are in."""

from __future__ import annotations

from typing import Any

import pytest

from harness.tests.checks.scenario_runs import run_checks

pytest_plugins = ["pytester"]

pytestmark = pytest.mark.stack

PREAMBLE = """
import httpx
import pytest
from harness import check, services_of


def marked(check_id):
    return check(check_id, "t", category="container", severity="BLOCKER")


def refuse(run):
    raise ConnectionError("refused for good")
"""

SCENARIO = (
    PREAMBLE
    + """
@marked("T-001")
def test_leaves_damage_behind(stack):
    stack.toxiproxy.add_toxic("redis", "latency", latency=3000)
    stack.toxiproxy.set_enabled("postgres", False)
    stack.pause("auth")
    stack.kill("capture")


@marked("T-002")
def test_starts_from_the_steady_state(stack):
    proxies = stack.toxiproxy.proxies()
    assert all(p.enabled and not p.toxics for p in proxies.values()), proxies
    for name in services_of(stack):
        ready = httpx.get(stack.endpoint(name).url + "/ready", timeout=2).json()
        assert ready["status"] == "ok", (name, ready)
    stack.probe("capture")


@marked("T-003")
def test_breaks_the_stack_beyond_repair(stack):
    capture = stack.components["capture"]
    capture.probe, capture.startup_deadline_s = refuse, 1.0


@marked("T-004")
def test_after_an_unrepairable_stack(stack):
    pass
"""
)


def _run(pytester: pytest.Pytester, scenario: str) -> dict[str, dict[str, Any]]:
    """Run `scenario` against a stack of auth alone; each check's recorded result, by id."""
    return run_checks(pytester, scenario, "--readiness-services=auth")


def test_damage_is_repaired_before_the_next_check_and_unrepairable_is_unknown(
    pytester: pytest.Pytester,
) -> None:
    recorded = _run(pytester, SCENARIO)
    statuses = {check_id: r["status"] for check_id, r in recorded.items()}
    assert statuses == {"T-001": "pass", "T-002": "pass", "T-003": "pass", "T-004": "unknown"}
    repairs = recorded["T-002"]["evidence"][0]
    assert repairs["label"] == "steady state repaired before the check"
    repaired = " ".join(repairs["value"])
    assert "toxiproxy reset" in repaired and "auth resumed" in repaired, repaired
    assert "capture" in repaired, repaired
    assert "capture" in recorded["T-004"]["message"], recorded["T-004"]["message"]


COMPONENT_SCENARIO = (
    PREAMBLE
    + """
@marked("T-011")
def test_breaks_a_service_beyond_repair(stack):
    auth = stack.components["auth"]
    auth.probe, auth.startup_deadline_s = refuse, 1.0


@marked("T-012")
@pytest.mark.steady_state(services=False)
def test_judges_a_data_store_alone(stack):
    stack.probe("redis")


@marked("T-013")
def test_needs_the_services(stack):
    pass
"""
)


def test_a_check_of_a_component_alone_runs_whatever_state_the_services_are_in(
    pytester: pytest.Pytester,
) -> None:
    recorded = _run(pytester, COMPONENT_SCENARIO)
    statuses = {check_id: r["status"] for check_id, r in recorded.items()}
    assert statuses == {"T-011": "pass", "T-012": "pass", "T-013": "unknown"}
    assert "auth" in recorded["T-013"]["message"], recorded["T-013"]["message"]


BACKUP_SCENARIO = (
    PREAMBLE
    + """
from harness import eventually


def health(stack):
    return httpx.get(stack.endpoint("backup").url + "/health", timeout=2).status_code


@marked("T-021")
def test_leaves_backups_stale(stack):
    stack.toxiproxy.set_enabled("postgres", False)
    eventually(lambda: health(stack) == 503, 60, 0.5, what="backups to go stale")


@marked("T-022")
def test_starts_with_current_backups(stack):
    assert health(stack) == 200
"""
)


def test_a_service_whose_health_is_503_is_waited_for(pytester: pytest.Pytester) -> None:
    """The backup scheduler's /health is 503 while its backups are stale (an earlier
    check's database outage), /ready ok as soon as the database answers: the next check
    waits for a good backup."""
    recorded = run_checks(pytester, BACKUP_SCENARIO, "--readiness-services=backup")
    statuses = {check_id: r["status"] for check_id, r in recorded.items()}
    assert statuses == {"T-021": "pass", "T-022": "pass"}, recorded
    repaired = " ".join(recorded["T-022"]["evidence"][0]["value"])
    assert "backup" in repaired, repaired
