"""Hypothesis: with Redis cut, auth keeps serving from memory, says so, and loses nothing.

Steady state: a user can register, log in, refresh, call /me and log out. Each
user connects from a loopback address of its own, as real users do: the harness's
own address is exempt from the per-address throttles, whose counters live in
Redis, and a check made from it would never take their path.
Fault: the Redis proxy is cut for REDIS_OUTAGE_S.
Expectations: the steady state holds during the outage; auth's
redis_degraded_mode gauge is 1 within 2 s of the cut and 0 within 5 s of the
restore; a token revoked during the outage stays revoked after recovery, right
after it and once auth's recovery grace is over: for a while after Redis returns,
auth also looks every token up in PostgreSQL, which would hide a revocation the
recovery failed to write back to Redis.
Proof: auth itself saw Redis go (its health checks failed, its operations were
served from memory) while it had been healthy before the cut; other services'
connections through the proxy prove nothing about auth, so without that the
three checks are unknown.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from harness import (
    ApiClient,
    EvidenceLog,
    FaultInjector,
    FaultWindow,
    Inconclusive,
    Platform,
    check,
    metric_sample,
    metric_watch,
)
from harness.checks import auth_abuse, recovery

REDIS_OUTAGE_S = 30.0
DEGRADED_WITHIN_S = 2.0
RECOVERED_WITHIN_S = 5.0
GAUGE_POLL_S = 0.1
#: What proves the cut reached auth: auth's own view of it.
HEALTH_CHECKS_FAILED = "auth Redis health checks failed"
SERVED_FROM_MEMORY = "auth operations served from memory"
#: The revoked token's step once auth's recovery grace is over.
ONCE_REDIS_DECIDES = "revoked token once Redis alone decides"
#: Stands in for the token a failed login did not give (an empty bearer is not sendable).
NO_TOKEN = "no-token"


@dataclass
class Outage:
    degraded_after_s: float | None = None
    recovered_after_s: float | None = None
    steps_during: dict[str, int] = field(default_factory=dict)
    steps_after: dict[str, int] = field(default_factory=dict)
    gauge: list[tuple[float, float]] = field(default_factory=list)
    #: (seconds since the cut, ms) of register + login + /me, the user's view of the outage.
    latency_ms: list[tuple[float, float]] = field(default_factory=list)
    faults: list[FaultWindow] = field(default_factory=list)
    #: Wall-clock time of the gauge's second 0, to place the cut on its timeline.
    started_at: float = 0.0
    #: Seconds from recovery until Redis alone decides on tokens again (None: never).
    grace_over_after_s: float | None = None

    def record_proof(self, evidence: EvidenceLog) -> None:
        for window in self.faults:
            window.note(evidence)


def _wait_gauge(
    url: str, value: float, deadline_s: float, outage: Outage, t0: float
) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < deadline_s:
        current = metric_sample(url, "redis_degraded_mode", service="auth")
        outage.gauge.append((time.monotonic() - t0, current))
        if current == value:
            return time.monotonic() - started
        time.sleep(GAUGE_POLL_S)
    return None


def _a_user(gateway_url: str) -> ApiClient:
    """A client from a loopback address of its own (one user, not the harness)."""
    return ApiClient(gateway_url, local_address=auth_abuse.user_address(gateway_url))


def _auth_round_trip(api: ApiClient, steps: dict[str, int]) -> str:
    """Register, log in, refresh, /me, log out; returns the now-revoked access token."""
    registered = api.register()
    steps["register"] = registered.status_code
    email = registered.json().get("email", "")
    login = api.login(email)
    steps["login"] = login.status_code
    tokens = login.json()
    refreshed = api.refresh(tokens.get("refresh_token", ""))
    steps["refresh"] = refreshed.status_code
    # A step that failed leaves no token; the next steps then answer 401, on record.
    access = refreshed.json().get("access_token") or NO_TOKEN
    steps["me"] = api.me(access).status_code
    steps["logout"] = api.http.post(
        "/api/v1/auth/logout", headers={"Authorization": f"Bearer {access}"}
    ).status_code
    steps["me after logout"] = api.me(access).status_code
    return access


def _watch_auth(auth: str, window: FaultWindow) -> Callable[[], None]:
    """Start watching auth's own view of Redis; the returned call records what it saw."""
    window.require(HEALTH_CHECKS_FAILED, SERVED_FROM_MEMORY)
    if metric_sample(auth, "redis_degraded_mode", service="auth") != 0:
        window.context["auth before the cut"] = "already degraded: the cut changes nothing"
        return lambda: None
    failed = metric_watch(auth, "redis_health_check_total", service="auth", result="failure")
    fallbacks = metric_watch(auth, "redis_fallback_total", service="auth")

    def seen() -> None:
        window.observe(HEALTH_CHECKS_FAILED, failed())
        window.observe(SERVED_FROM_MEMORY, fallbacks())

    return seen


@pytest.fixture(scope="module")
def outage(stack: Platform, gateway_url: str) -> Iterator[Outage]:
    auth = stack.endpoint("auth").url or ""
    result = Outage()
    injector = FaultInjector(stack)
    result.faults = injector.windows
    t0, result.started_at = time.monotonic(), time.time()
    try:
        with injector.cut("redis") as window:
            seen_by_auth = _watch_auth(auth, window)
            cut_at = time.monotonic()
            result.degraded_after_s = _wait_gauge(auth, 1, DEGRADED_WITHIN_S * 3, result, t0)
            with _a_user(gateway_url) as api:
                revoked = _auth_round_trip(api, result.steps_during)
            while time.monotonic() - cut_at < REDIS_OUTAGE_S:
                started = time.monotonic()
                with _a_user(gateway_url) as api:
                    email = api.register().json().get("email", "")
                    token = api.login(email).json().get("access_token") or NO_TOKEN
                    result.steps_during["me (steady)"] = api.me(token).status_code
                result.latency_ms.append((started - cut_at, (time.monotonic() - started) * 1000))
                time.sleep(1)
            seen_by_auth()
        injector.require_proof()  # an inert cut: all three checks unknown
        result.recovered_after_s = _wait_gauge(auth, 0, RECOVERED_WITHIN_S * 3, result, t0)
        with _a_user(gateway_url) as api:
            result.steps_after["revoked token after recovery"] = api.me(revoked).status_code
            _auth_round_trip(api, result.steps_after)
        result.grace_over_after_s = recovery.grace_over(auth)
        with _a_user(gateway_url) as api:
            result.steps_after[ONCE_REDIS_DECIDES] = api.me(revoked).status_code
        yield result
    finally:
        injector.restore()


@check(
    "DEG-001",
    "Auth keeps register, login, refresh, logout and /me working without Redis",
    category="degraded",
    severity="BLOCKER",
    finding="BLOCKER-3 / HIGH-1 / HIGH-8: auth fails when Redis is down (no in-memory fallback)",
    fix="Serve sessions and revocations from memory while degraded; write back on recovery.",
    impact="A Redis outage takes down sign-in and every authenticated request: a total outage "
    "caused by a cache.",
)
def test_auth_works_during_redis_outage(outage: Outage, evidence: EvidenceLog) -> None:
    outage.record_proof(evidence)
    evidence.note("statuses during the outage", str(outage.steps_during))
    evidence.series("register + login + /me during the outage", outage.latency_ms, "ms")
    for window in outage.faults:  # the latency timeline counts from the cut
        evidence.fault(window, origin=window.started_at)
    expected = {
        "register": 201,
        "login": 200,
        "refresh": 200,
        "me": 200,
        "logout": 204,
        "me after logout": 401,
        "me (steady)": 200,
    }
    wrong = {k: v for k, v in outage.steps_during.items() if expected.get(k) != v}
    assert not wrong, f"auth misbehaved without Redis: {wrong}"


@check(
    "DEG-002",
    "redis_degraded_mode is 1 within 2 s of a Redis cut and 0 within 5 s of restore",
    category="degraded",
    severity="HIGH",
    finding="HIGH-2: Redis degraded-mode metric not exposed",
    fix="Run the background health check often and flip the gauge on each transition.",
    impact="Operators cannot see that the system runs degraded; alerts on redis_degraded_mode "
    "never fire.",
)
def test_degraded_gauge_follows_redis(outage: Outage, evidence: EvidenceLog) -> None:
    outage.record_proof(evidence)
    evidence.series("auth redis_degraded_mode", outage.gauge)
    for window in outage.faults:
        evidence.fault(window, origin=outage.started_at)
    evidence.number("degraded after cut", outage.degraded_after_s or -1, "s")
    evidence.number("recovered after restore", outage.recovered_after_s or -1, "s")
    assert outage.degraded_after_s is not None and outage.degraded_after_s <= DEGRADED_WITHIN_S, (
        f"gauge not 1 within {DEGRADED_WITHIN_S}s of the cut ({outage.degraded_after_s})"
    )
    assert (
        outage.recovered_after_s is not None and outage.recovered_after_s <= RECOVERED_WITHIN_S
    ), f"gauge not 0 within {RECOVERED_WITHIN_S}s of the restore ({outage.recovered_after_s})"


@check(
    "DEG-003",
    "A token revoked while Redis was down stays revoked after Redis returns",
    category="degraded",
    severity="HIGH",
    finding="Redis degraded mode: state kept in memory must be written back",
    fix="Write revocations made during the outage back to Redis (and durably) on recovery.",
    impact="A token logged out or revoked during a Redis outage is accepted again afterwards: a "
    "stolen session comes back.",
)
def test_revocation_survives_recovery(outage: Outage, evidence: EvidenceLog) -> None:
    outage.record_proof(evidence)
    evidence.note("statuses after recovery", str(outage.steps_after))
    evidence.number("recovery grace over after", outage.grace_over_after_s or -1, "s")
    assert outage.steps_after.get("revoked token after recovery") == 401, (
        "a token logged out during the outage is accepted again after recovery"
    )
    if outage.grace_over_after_s is None:
        raise Inconclusive("auth's recovery grace did not end: the write-back cannot be judged")
    assert outage.steps_after.get(ONCE_REDIS_DECIDES) == 401, (
        "a token logged out during the outage is accepted again once Redis alone decides: "
        "the recovery did not write the revocation back"
    )
    assert outage.steps_after.get("login") == 200, "login fails after Redis returns"
