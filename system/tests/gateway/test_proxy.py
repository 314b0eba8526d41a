"""The gateway against real backends: hung, dead, WebSocket, headers, CORS.

The stack's gateway where the stack's backends do; the tests' own gateway (see
conftest.py) where a backend must hang, be gone or echo, or an origin be allowed."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from secureconnect.common.middleware import SECURITY_HEADERS
from websockets.asyncio.client import connect

from harness.platform.base import Platform
from tests.gateway.conftest import OwnGateway
from tests.helpers import assert_error, bearer, eventually, metric, new_session

BUDGET_SLACK = 1.10


@pytest.fixture
async def own(own_gateway: OwnGateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=own_gateway.url, timeout=10) as client:
        yield client


async def timeouts_counted(gateway: httpx.AsyncClient) -> float:
    text = (await gateway.get("/metrics")).text
    return sum(
        metric(text, "request_timeout_total", service="gateway", route=route) or 0.0
        for route in ("/api/v1/calls", "/api/v1/calls/{rest:path}")
    )


async def test_hung_backend_is_504_within_budget(own: httpx.AsyncClient, own_gateway: OwnGateway):
    before = await timeouts_counted(own)
    started = time.monotonic()
    response = await own.get("/api/v1/calls/turn-credentials")
    elapsed = time.monotonic() - started
    assert_error(response, 504)
    assert elapsed <= own_gateway.budget_s * BUDGET_SLACK, elapsed
    assert await timeouts_counted(own) == before + 1


async def test_dead_backend_is_502(own: httpx.AsyncClient):
    started = time.monotonic()
    assert_error(await own.get("/api/v1/files/quota"), 502, "upstream_unavailable")
    assert time.monotonic() - started < 1.0


async def test_request_id_is_forwarded_and_returned(gateway: httpx.AsyncClient, stack: Platform):
    response = await gateway.get("/api/v1/auth/me", headers={"X-Request-ID": "trace-abc.123"})
    assert response.headers["x-request-id"] == "trace-abc.123"

    async def logged_by_auth() -> bool:
        lines = stack.logs("auth").splitlines()
        return any(json.loads(line).get("request_id") == "trace-abc.123" for line in lines)

    await eventually(logged_by_auth, 5.0, "auth's log line with the forwarded request id")


async def test_security_headers_exactly_once(gateway: httpx.AsyncClient):
    response = await gateway.get("/api/v1/auth/me")
    for name, value in SECURITY_HEADERS:
        assert response.headers.get_list(name.decode()) == [value.decode()]


async def test_cors_preflight_for_configured_origin_only(
    own: httpx.AsyncClient, own_gateway: OwnGateway
):
    origin = own_gateway.cors_origin
    preflight = {"Access-Control-Request-Method": "POST"}
    allowed = await own.options("/api/v1/auth/login", headers={"Origin": origin, **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == origin
    denied = await own.options(
        "/api/v1/auth/login", headers={"Origin": "https://evil.example", **preflight}
    )
    assert "access-control-allow-origin" not in denied.headers


async def test_websocket_is_relayed_with_token(gateway: httpx.AsyncClient, own_gateway: OwnGateway):
    _, tokens = await new_session(gateway)
    url = own_gateway.url.replace("http://", "ws://") + "/ws?token=abc"
    async with connect(url, additional_headers=bearer(tokens), open_timeout=5) as socket:
        hello = json.loads(await socket.recv())
        assert hello["path"] == "/ws?token=abc"
        assert hello["authorization"] == bearer(tokens)["Authorization"]
        await socket.send('{"type": "ping"}')
        assert await socket.recv() == '{"type": "ping"}'


async def test_a_client_cannot_choose_its_address(gateway: httpx.AsyncClient, stack: Platform):
    """The gateway is the edge: X-Forwarded-For from a client (even on loopback) does
    not change the address its rate limit and logs count it under."""
    headers = {"X-Request-ID": "spoof-xff-1", "X-Forwarded-For": "203.0.113.9"}
    await gateway.get("/api/v1/auth/me", headers=headers)

    async def access_line() -> dict | None:
        lines = [json.loads(line) for line in stack.logs("gateway").splitlines()]
        return next((line for line in lines if line.get("request_id") == "spoof-xff-1"), None)

    line = await eventually(access_line, 5.0, "the gateway's access log line")
    assert line["client"] == "127.0.0.1", line


async def test_an_expectation_is_met_at_the_gateway(gateway: httpx.AsyncClient):
    """`Expect: 100-continue` is the gateway's to answer (it reads the client's body itself).
    Forwarded, the upstream's interim `100 Continue` would be taken for its answer, and the
    real answer left on the kept-alive connection for the next request to read."""
    login = {"email": "nobody-expect@example.com", "password": "not-the-password-1"}
    for _ in range(3):
        answer = await gateway.post(
            "/api/v1/auth/login", json=login, headers={"Expect": "100-continue"}
        )
        assert_error(answer, 401, "invalid_credentials")
        assert (await gateway.get("/api/v1/auth/me")).status_code == 401
