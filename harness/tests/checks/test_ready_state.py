"""A service's readiness as the steady state reads it, against a real HTTP server: a
dependency the check judges itself (FEAT-004's TURN) does not make the stack unhealthy,
any other one still does; nor does a /health answer when the check judges /health
(HEALTH-001), as long as the service is ready; a service in its recovery regime
(still double-checking tokens in PostgreSQL) is not in the steady state yet."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from harness.checks.steady import (
    GRACE_METRIC,
    HEALTH_ROUTE,
    ready_state,
    recovery_state,
    service_state,
)
from harness.tests.checks.asgi import served

#: What video's /ready says when coturn refuses its credentials, and when Redis is also cut.
READY = {
    "turn": {"status": "degraded", "dependencies": {"turn": {"state": "down"}}},
    "both": {
        "status": "degraded",
        "dependencies": {"turn": {"state": "down"}, "redis": {"state": "degraded"}},
    },
    "ok": {"status": "ok", "dependencies": {"turn": {"state": "ok"}}},
    "recovering": {"status": "ok", "dependencies": {"redis": {"state": "ok"}}},
}


def ready(request: Request) -> JSONResponse:
    return JSONResponse(READY[request.path_params["case"]])


def stale_backups(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "stale"}, status_code=503)


#: Seconds of recovery grace each case's /metrics publishes ("ok" publishes none).
GRACE_LEFT = {"turn": 0.0, "both": 0.0, "recovering": 7.25}


def metrics(request: Request) -> PlainTextResponse:
    left = GRACE_LEFT.get(request.path_params["case"])
    sample = "" if left is None else f'{GRACE_METRIC}{{service="chat"}} {left}\n'
    return PlainTextResponse(f"# TYPE {GRACE_METRIC} gauge\n{sample}")


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    routes = [
        Route("/{case}/ready", ready),
        Route("/{case}/health", stale_backups),
        Route("/{case}/metrics", metrics),
    ]
    with served(Starlette(routes=routes)) as base:
        yield base


def test_a_judged_dependency_alone_does_not_make_the_service_unready(url: str) -> None:
    assert ready_state(f"{url}/turn") == "degraded (turn: down)"
    assert ready_state(f"{url}/turn", judged=("turn",)) == "ok"


def test_any_other_unwell_dependency_still_does(url: str) -> None:
    assert ready_state(f"{url}/both", judged=("turn",)) == "degraded (redis: degraded)"
    assert ready_state(f"{url}/ok", judged=("turn",)) == "ok"


def test_a_judged_health_route_alone_does_not_make_the_service_unwell(url: str) -> None:
    assert service_state(f"{url}/ok") == "/health: HTTP 503"
    assert service_state(f"{url}/ok", judged=(HEALTH_ROUTE,)) == "ok"
    assert (
        service_state(f"{url}/both", judged=(HEALTH_ROUTE,))
        == "degraded (turn: down, redis: degraded)"
    )


def test_a_service_still_double_checking_tokens_is_not_settled(url: str) -> None:
    assert recovery_state(f"{url}/recovering") == "recovering (7.2 s of token double-checks left)"
    assert service_state(f"{url}/recovering", judged=(HEALTH_ROUTE,)).startswith("recovering")
    assert recovery_state(f"{url}/turn") == "ok"
    assert recovery_state(f"{url}/ok") == "ok", "a service that publishes no grace has none"
