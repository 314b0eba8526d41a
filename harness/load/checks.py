"""The logic of the LOAD checks (scenarios/load/), kept here so harness tests can
show each one failing: a tightened SLO, a fault that does not degrade as promised.

    outcome = load_on_stack(stack, profile_load("smoke"), out_dir)
    assert_slos_met(outcome)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from harness.checks.model import Check, Severity
from harness.errors import InertFault
from harness.load.session import LoadOptions, LoadOutcome, run_on
from harness.load.target import Target
from harness.platform.base import Platform


@dataclass(frozen=True)
class LoadShape:
    users: int
    spawn_rate: float
    duration_s: float


#: smoke: quick enough for every run; full: long enough for percentiles to settle.
#: Users arrive over the first 10-20 s, as sign-ups do, not all in one second: each
#: registers and logs in (with a buddy), and argon2 makes that the costliest step.
PROFILE_LOAD = {
    "smoke": LoadShape(users=20, spawn_rate=2, duration_s=30),
    "full": LoadShape(users=100, spawn_rate=5, duration_s=120),
}
#: Chaos under load: the fault in the middle, with steady load on both sides.
CHAOS_LOAD = LoadShape(users=50, spawn_rate=5, duration_s=90)
CHAOS_FAULT_S = 30.0

SLO_CHECK = Check(
    "LOAD-001",
    "Every journey meets its SLOs under load",
    "load",
    Severity.HIGH,
    finding="Next actions: run load testing before go-live",
    fix="Find the breached journey's bottleneck in the timeline and the component logs.",
    impact="At launch traffic, journeys slow past their SLOs or fail: users abandon sign-up, "
    "chat and uploads.",
)
CHAOS_CHECKS = {
    "redis-down": Check(
        "LOAD-002",
        "Redis cut for 30 s under load: auth and chat keep under 1% errors",
        "load",
        Severity.HIGH,
        finding="BLOCKER-3 / HIGH-2: Redis degraded mode, here under production-like load",
        fix="Sessions, revocations, rate limits and fan-out must fall back while Redis is away.",
        profile="full",
        impact="A Redis outage at peak traffic becomes failed sign-ins and lost chat for many "
        "users at once.",
    ),
    "s3-down": Check(
        "LOAD-003",
        "S3 cut under load: only file journeys fail, and fast",
        "load",
        Severity.HIGH,
        finding="MEDIUM-5/6: S3 resilience, here under production-like load",
        fix="Open the S3 circuit breaker fast and keep S3 out of every non-file path.",
        profile="full",
        impact="An S3 outage at peak traffic spreads beyond file journeys, or file requests hang "
        "instead of failing fast.",
    ),
}


def chaos_check(scenario: str) -> Check:
    """The check a run with `scenario` stands for (a generic one for other scenarios)."""
    generic = Check(
        "LOAD-010",
        f"Journeys keep their SLOs through {scenario} under load",
        "load",
        Severity.MEDIUM,
        fix="See which journey failed in the fault window of the timeline.",
        profile="full",
        impact=f"Users see errors or slow journeys while {scenario} lasts under load.",
    )
    return CHAOS_CHECKS.get(scenario, generic)


def profile_load(profile: str, slo_path: Path | None = None) -> LoadOptions:
    shape = PROFILE_LOAD[profile]
    options = LoadOptions(shape.users, shape.spawn_rate, shape.duration_s)
    return replace(options, slo_path=slo_path) if slo_path is not None else options


def chaos_load(scenario: str, fault_s: float = CHAOS_FAULT_S) -> LoadOptions:
    shape = CHAOS_LOAD
    duration = max(shape.duration_s, fault_s + 40)
    return LoadOptions(shape.users, shape.spawn_rate, duration, fault=scenario, fault_s=fault_s)


def load_on_stack(stack: Platform, options: LoadOptions, out_dir: Path) -> LoadOutcome:
    """Run the journeys against the stack's gateway, faults (if any) on the stack."""
    url = stack.endpoint("gateway").url
    assert url is not None, "the stack has no gateway"
    return run_on(Target(url, "the stack of this run", stack), options, out_dir)


def assert_slos_met(outcome: LoadOutcome) -> None:
    """Fail on a breached SLO; InertFault (unknown) when the run's fault touched nothing."""
    if outcome.inert_fault is not None:
        raise InertFault(outcome.inert_fault)
    breaches = outcome.report.breaches
    shown = "; ".join(m.line() for m in breaches[:4])
    assert not breaches, f"{len(breaches)} SLO(s) breached: {shown}"
