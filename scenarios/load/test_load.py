"""Hypothesis: the journeys meet their SLOs (loadtests/slo.yaml) under load, and
keep them through a fault where the product promises a degraded mode.

Steady state: the Locust journeys (register/login, chat with WebSocket
delivery, polls, files, call signaling) at the profile's load.
Faults: Redis cut for 30 s, S3 cut for 30 s, in the middle of the run.
Expectations: every SLO met; in the fault window auth and chat stay under 1%
errors (Redis), only files fail and fail fast (S3). The timeline with the
fault window marked is in the report.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness import Platform, check, require_components
from harness.checks import (
    CHAOS_CHECKS,
    LoadOptions,
    LoadOutcome,
    assert_slos_met,
    chaos_load,
    profile_load,
)

RunLoad = Callable[[LoadOptions], LoadOutcome]


def _marker(check_id: str, scenario: str) -> pytest.MarkDecorator:
    meta = CHAOS_CHECKS[scenario]
    assert meta.id == check_id, f"{scenario} is {meta.id} in harness.load.checks"
    return check(
        check_id,
        meta.title,
        category="load",
        severity=str(meta.severity),
        finding=meta.finding,
        fix=meta.fix,
        profile=meta.profile,
        impact=meta.impact,
    )


@check(
    "LOAD-001",
    "Every journey meets its SLOs under load (smoke: 20 users 30 s; full: 100 users 120 s)",
    category="load",
    severity="HIGH",
    finding="Next actions: run load testing before go-live",
    fix="Find the breached journey's bottleneck in the timeline and the component logs.",
    impact="At launch traffic, journeys slow past their SLOs or fail: users abandon sign-up, chat "
    "and uploads.",
)
def test_journeys_meet_their_slos(stack: Platform, profile: str, run_load_check: RunLoad) -> None:
    require_components(stack.names(), "gateway", "auth", "chat", "storage", "video")
    assert_slos_met(run_load_check(profile_load(profile)))


@_marker("LOAD-002", "redis-down")
def test_redis_cut_under_load(stack: Platform, run_load_check: RunLoad) -> None:
    require_components(stack.names(), "gateway", "auth", "chat", "storage", "video")
    assert_slos_met(run_load_check(chaos_load("redis-down")))


@_marker("LOAD-003", "s3-down")
def test_s3_cut_under_load(stack: Platform, run_load_check: RunLoad) -> None:
    require_components(stack.names(), "gateway", "auth", "chat", "storage", "video")
    assert_slos_met(run_load_check(chaos_load("s3-down")))
