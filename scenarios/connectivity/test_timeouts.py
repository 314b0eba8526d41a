"""A hung or dead backend costs a bounded wait and a clear status, never a hang.

Proof that each fault took hold: a paused or killed backend is seen failing a
request right after the signal (the fault window does that itself); a hung
database is seen by the backend itself, as database calls that took longer
than any healthy one; without it the check is unknown, never judged.
"""

from __future__ import annotations

from collections.abc import Callable

from harness import (
    BACKEND_BUDGET_S,
    GATEWAY_BUDGET_S,
    EvidenceLog,
    FaultInjector,
    FaultWindow,
    Platform,
    check,
    metric_sample,
    metric_watch,
)
from harness.checks import connectivity

#: A route per backend that must touch PostgreSQL (no token needed for auth's).
DB_ROUTES = {"auth": ("POST", "/api/v1/auth/login")}
LOGIN_BODY = {"email": "nobody@example.com", "password": "Not-The-Password-1"}
NO_TOKEN = {"Authorization": "Bearer not-a-token"}
DEAD_BACKEND_BUDGET_S = 1.0
#: No healthy database call of a backend takes this long: the le of a histogram bucket.
SLOW_DB_CALL_S = "1.0"
#: A call cut short by the budget is counted as it unwinds, just after the answer.
PROOF_SETTLE_S = 3.0


def _watch_slow_db_calls(url: str, service: str, window: FaultWindow) -> Callable[[], None]:
    """Start counting `service`'s database calls slower than SLOW_DB_CALL_S."""
    what = f"{service} database calls slower than {SLOW_DB_CALL_S} s"
    window.require(*window.required, what)
    name = "db_query_duration_seconds"
    calls = metric_watch(url, f"{name}_count", service=service)
    fast = metric_watch(url, f"{name}_bucket", service=service, le=SLOW_DB_CALL_S)

    return lambda: window.observe_growth(what, lambda: calls() - fast(), PROOF_SETTLE_S)


#: The error code of a 504 from the gateway's proxy timeout (not from its overall budget).
UPSTREAM_TIMEOUT = "upstream_timeout"


@check(
    "CONN-002",
    "The gateway's proxy times out a hung backend: 504 upstream_timeout within its budget",
    category="connectivity",
    severity="HIGH",
    finding="HIGH-1: API gateway proxy has no timeout",
    fix="Give the proxy client connect/read timeouts below the request budget.",
    impact="One hung backend holds gateway workers until they run out: every route times out, not "
    "only the sick one.",
)
def test_gateway_times_out_a_hung_backend(
    stack: Platform, faults: FaultInjector, evidence: EvidenceLog
) -> None:
    gateway = stack.endpoint("gateway").url or ""
    before = metric_sample(gateway, "request_timeout_total", service="gateway")
    with faults.paused_process("auth"):
        faults.require_proof()  # auth answered before the pause and not after it
        response = connectivity.answers_within(
            "GET /api/v1/auth/me with auth paused",
            "GET",
            f"{gateway}/api/v1/auth/me",
            GATEWAY_BUDGET_S,
            {504},
            evidence,
            headers=NO_TOKEN,
        )
    after = metric_sample(gateway, "request_timeout_total", service="gateway")
    evidence.metric("request_timeout_total increase", "request_timeout_total", after - before)
    assert after > before, "request_timeout_total did not count the timeout"
    # The gateway's whole-request budget also ends in a 504: only the proxy's own read
    # timeout, below that budget, answers that the upstream timed out.
    code = response.json().get("error", {}).get("code") if response is not None else None
    assert code == UPSTREAM_TIMEOUT, (
        f"the 504 came from the request budget ({code}), not the proxy's own timeout"
    )


@check(
    "CONN-003",
    "Every backend answers 503/504 within its budget when its database hangs",
    category="connectivity",
    severity="BLOCKER",
    finding="BLOCKER-4: global timeout middleware not applied to services",
    fix="Install the time-budget middleware in every service's app factory.",
    impact="A slow database makes requests hang without limit; workers and connections pile up "
    "until the service stops answering.",
)
def test_backends_enforce_their_budget(
    stack: Platform, faults: FaultInjector, evidence: EvidenceLog
) -> None:
    present = {name: route for name, route in DB_ROUTES.items() if name in stack.names()}
    assert present, "no backend with a database route is running"
    answers = []
    with faults.latency("postgres", ms=int(BACKEND_BUDGET_S * 2000)) as window:
        for name, (method, path) in present.items():
            url = stack.endpoint(name).url or ""
            slow_calls_seen = _watch_slow_db_calls(url, name, window)
            label = f"{name} {method} {path} with a hung database"
            answers.append(
                connectivity.timed_request(
                    label, method, url + path, BACKEND_BUDGET_S, evidence, json=LOGIN_BODY
                )
            )
            slow_calls_seen()
    faults.require_proof()  # before judging: a backend the latency never reached proves nothing
    for answer in answers:
        connectivity.assert_answered(answer, BACKEND_BUDGET_S, {503, 504})


@check(
    "CONN-004",
    "The gateway answers 502 at once when a backend is down",
    category="connectivity",
    severity="MEDIUM",
    finding="Inter-service connectivity: failures must surface as clear statuses",
    fix="Map connection refused to 502 with the API error body.",
    impact="Clients wait, or get a confusing error, when a backend is down instead of a fast and "
    "retryable 502.",
)
def test_gateway_reports_a_dead_backend(
    stack: Platform, faults: FaultInjector, evidence: EvidenceLog
) -> None:
    faults.kill("auth")
    faults.require_proof()  # auth answered before the kill and not after it
    gateway = stack.endpoint("gateway").url or ""
    response = connectivity.answers_within(
        "GET /api/v1/auth/me with auth killed",
        "GET",
        f"{gateway}/api/v1/auth/me",
        DEAD_BACKEND_BUDGET_S,
        {502},
        evidence,
        headers=NO_TOKEN,
    )
    assert response is not None and response.json().get("error", {}).get("code"), (
        "the 502 has no API error body"
    )
