"""A hung or dead backend costs a bounded wait and a clear status, never a hang."""

from __future__ import annotations

from harness import (
    BACKEND_BUDGET_S,
    GATEWAY_BUDGET_S,
    EvidenceLog,
    FaultInjector,
    Platform,
    check,
    metric_sample,
)
from harness.checks.library.connectivity import answers_within

#: A route per backend that must touch PostgreSQL (no token needed for auth's).
DB_ROUTES = {"auth": ("POST", "/api/v1/auth/login")}
LOGIN_BODY = {"email": "nobody@example.com", "password": "Not-The-Password-1"}
NO_TOKEN = {"Authorization": "Bearer not-a-token"}
DEAD_BACKEND_BUDGET_S = 1.0


@check(
    "CONN-002",
    "The gateway answers 504 within its budget when a backend hangs",
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
        answers_within(
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
    with faults.latency("postgres", ms=int(BACKEND_BUDGET_S * 2000)):
        for name, (method, path) in present.items():
            url = (stack.endpoint(name).url or "") + path
            answers_within(
                f"{name} {method} {path} with a hung database",
                method,
                url,
                BACKEND_BUDGET_S,
                {503, 504},
                evidence,
                json=LOGIN_BODY,
            )


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
    gateway = stack.endpoint("gateway").url or ""
    response = answers_within(
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
