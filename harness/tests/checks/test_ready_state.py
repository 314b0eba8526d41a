"""A service's readiness as the steady state reads it, against a real HTTP server: a
dependency the check judges itself (FEAT-004's TURN) does not make the stack unhealthy,
any other one still does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from harness.checks.steady import ready_state
from harness.tests.checks.asgi import served

#: What video's /ready says when coturn refuses its credentials, and when Redis is also cut.
READY = {
    "turn": {"status": "degraded", "dependencies": {"turn": {"state": "down"}}},
    "both": {
        "status": "degraded",
        "dependencies": {"turn": {"state": "down"}, "redis": {"state": "degraded"}},
    },
    "ok": {"status": "ok", "dependencies": {"turn": {"state": "ok"}}},
}


def ready(request: Request) -> JSONResponse:
    return JSONResponse(READY[request.path_params["case"]])


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with served(Starlette(routes=[Route("/{case}/ready", ready)])) as base:
        yield base


def test_a_judged_dependency_alone_does_not_make_the_service_unready(url: str) -> None:
    assert ready_state(f"{url}/turn") == "degraded (turn: down)"
    assert ready_state(f"{url}/turn", judged=("turn",)) == "ok"


def test_any_other_unwell_dependency_still_does(url: str) -> None:
    assert ready_state(f"{url}/both", judged=("turn",)) == "degraded (redis: degraded)"
    assert ready_state(f"{url}/ok", judged=("turn",)) == "ok"
