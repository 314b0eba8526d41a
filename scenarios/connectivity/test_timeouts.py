"""A hung or dead backend costs a bounded wait and a clear status, never a hang."""

from __future__ import annotations

import time

import httpx

from harness import (
    BACKEND_BUDGET_S,
    GATEWAY_BUDGET_S,
    EvidenceLog,
    FaultInjector,
    Platform,
    check,
    metric_sample,
)

BUDGET_SLACK = 1.10
#: A route per backend that must touch PostgreSQL (no token needed for auth's).
DB_ROUTES = {"auth": ("POST", "/api/v1/auth/login")}
LOGIN_BODY = {"email": "nobody@example.com", "password": "Not-The-Password-1"}
NO_TOKEN = {"Authorization": "Bearer not-a-token"}


def _timed(method: str, url: str, **kwargs: object) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.request(method, url, timeout=GATEWAY_BUDGET_S * 3, **kwargs)  # type: ignore[arg-type]
    return response, time.monotonic() - started


@check(
    "CONN-002",
    "The gateway answers 504 within its budget when a backend hangs",
    category="connectivity",
    severity="HIGH",
    finding="HIGH-1: API gateway proxy has no timeout",
    fix="Give the proxy client connect/read timeouts below the request budget.",
)
def test_gateway_times_out_a_hung_backend(
    stack: Platform, faults: FaultInjector, evidence: EvidenceLog
) -> None:
    gateway = stack.endpoint("gateway").url or ""
    before = metric_sample(gateway, "request_timeout_total", service="gateway")
    with faults.paused_process("auth"):
        response, elapsed = _timed("GET", f"{gateway}/api/v1/auth/me", headers=NO_TOKEN)
    after = metric_sample(gateway, "request_timeout_total", service="gateway")
    evidence.http("GET /api/v1/auth/me with auth paused", response)
    evidence.number("answered after", elapsed, "s")
    evidence.metric("request_timeout_total increase", "request_timeout_total", after - before)
    assert response.status_code == 504, f"hung backend answered {response.status_code}, not 504"
    assert elapsed <= GATEWAY_BUDGET_S * BUDGET_SLACK, f"504 took {elapsed:.1f}s"
    assert after > before, "request_timeout_total did not count the timeout"


@check(
    "CONN-003",
    "Every backend enforces its own request budget when its database hangs",
    category="connectivity",
    severity="BLOCKER",
    finding="BLOCKER-4: global timeout middleware not applied to services",
    fix="Install the time-budget middleware in every service's app factory.",
)
def test_backends_enforce_their_budget(
    stack: Platform, faults: FaultInjector, evidence: EvidenceLog
) -> None:
    present = {name: route for name, route in DB_ROUTES.items() if name in stack.names()}
    assert present, "no backend with a database route is running"
    slow = {}
    with faults.latency("postgres", ms=int(BACKEND_BUDGET_S * 2000)):
        for name, (method, path) in present.items():
            url = stack.endpoint(name).url or ""
            response, elapsed = _timed(method, url + path, json=LOGIN_BODY)
            evidence.http(f"{name} {method} {path} with a hung database", response)
            evidence.number(f"{name} answered after", elapsed, "s")
            if response.status_code not in (503, 504) or elapsed > BACKEND_BUDGET_S * BUDGET_SLACK:
                slow[name] = f"{response.status_code} after {elapsed:.1f}s"
    assert not slow, f"no 503/504 within the {BACKEND_BUDGET_S}s budget: {slow}"


@check(
    "CONN-004",
    "The gateway answers 502 at once when a backend is down",
    category="connectivity",
    severity="MEDIUM",
    finding="Inter-service connectivity: failures must surface as clear statuses",
    fix="Map connection refused to 502 with the API error body.",
)
def test_gateway_reports_a_dead_backend(
    stack: Platform, faults: FaultInjector, evidence: EvidenceLog
) -> None:
    faults.kill("auth")
    gateway = stack.endpoint("gateway").url or ""
    response, elapsed = _timed("GET", f"{gateway}/api/v1/auth/me", headers=NO_TOKEN)
    evidence.http("GET /api/v1/auth/me with auth killed", response)
    evidence.number("answered after", elapsed, "s")
    assert response.status_code == 502, f"dead backend answered {response.status_code}, not 502"
    assert response.json().get("error", {}).get("code"), "the 502 has no API error body"
    assert elapsed < 1.0, f"the 502 took {elapsed:.1f}s"
