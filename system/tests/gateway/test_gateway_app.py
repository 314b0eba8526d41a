"""The gateway in-process: unconfigured services, rate limits, readiness."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import uvicorn
from secureconnect.common.clock import ManualClock
from secureconnect.common.settings import LOCAL_JWT_SECRET
from secureconnect.common.tokens import TokenCodec
from secureconnect.gateway.app import create_gateway_app
from secureconnect.gateway.settings import GatewaySettings
from secureconnect.gateway.websocket import CLOSE_POLICY_VIOLATION, CLOSE_TRY_AGAIN_LATER
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from harness.platform.ports import free_port
from tests.helpers import assert_error, eventually, metric

PER_ADDRESS = 3
PER_USER = 2
CLOCK_START = 6000.0  # a window boundary


@pytest.fixture
async def gateway() -> AsyncIterator[httpx.AsyncClient]:
    settings = GatewaySettings(
        environment="test",
        redis_port=free_port(),  # unreachable: limits run on the in-memory fallback
        auth_url=f"http://127.0.0.1:{free_port()}",
        rate_limit_per_address=PER_ADDRESS,
        rate_limit_per_user=PER_USER,
    )
    app = create_gateway_app(settings, ManualClock(start=CLOCK_START))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 5555))
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            yield client


async def test_unconfigured_service_is_503(gateway: httpx.AsyncClient):
    error = assert_error(await gateway.get("/api/v1/conversations"), 503, "service_unavailable")
    assert "chat" in error["message"]


async def test_a_method_the_proxy_does_not_carry_is_405(gateway: httpx.AsyncClient):
    refused = await gateway.request("TRACE", "/api/v1/auth/me")
    assert_error(refused, 405, "method_not_allowed")
    assert "GET" in refused.headers["allow"]
    assert refused.headers["x-frame-options"] == "DENY"


async def test_proxied_requests_are_labelled_by_route_template(gateway: httpx.AsyncClient):
    await gateway.get("/api/v1/conversations/some-id/messages")
    await gateway.get("/api/v1/conversations")
    text = (await gateway.get("/metrics")).text
    for route in ("/api/v1/conversations/{rest:path}", "/api/v1/conversations"):
        labels = {"service": "gateway", "method": "GET", "route": route, "status": "503"}
        assert metric(text, "http_requests_total", **labels), route


async def test_an_unknown_api_prefix_is_a_plain_404(gateway: httpx.AsyncClient):
    assert_error(await gateway.get("/api/v1/nothing-here"), 404, "not_found")


async def test_rate_limit_per_address_is_429_with_retry_after(gateway: httpx.AsyncClient):
    for _ in range(PER_ADDRESS):
        assert (await gateway.get("/api/v1/polls/x")).status_code == 503
    limited = await gateway.get("/api/v1/polls/x")
    assert_error(limited, 429, "rate_limited")
    assert 0 < int(limited.headers["retry-after"]) <= 60


async def test_rate_limit_per_user_needs_a_genuine_token(gateway: httpx.AsyncClient):
    token, _ = TokenCodec(LOCAL_JWT_SECRET, ManualClock(start=CLOCK_START)).issue_access(
        "0b7e2f4c-5d7a-4c1e-9f3b-2a6d8e1c4b90", "s"
    )
    signed = {"Authorization": f"Bearer {token}"}
    for _ in range(PER_USER):
        assert (await gateway.get("/api/v1/polls/x", headers=signed)).status_code == 503
    error = assert_error(await gateway.get("/api/v1/polls/x", headers=signed), 429)
    assert "user" in error["message"]


async def test_forged_token_counts_only_against_the_address(gateway: httpx.AsyncClient):
    forged = {"Authorization": "Bearer not-a-token"}
    for _ in range(PER_ADDRESS):
        assert (await gateway.get("/api/v1/polls/x", headers=forged)).status_code == 503
    assert "address" in assert_error(await gateway.get("/api/v1/polls/x"), 429)["message"]


async def test_ready_is_503_when_auth_is_down(gateway: httpx.AsyncClient):
    ready = await gateway.get("/ready")
    body = ready.json()
    assert ready.status_code == 503 and body["status"] == "down"
    assert body["dependencies"]["auth"] == {"state": "down", "required": True}
    assert body["dependencies"]["redis"]["required"] is False


@asynccontextmanager
async def serving(settings: GatewaySettings) -> AsyncIterator[str]:
    """The gateway under a real uvicorn server in this event loop; yields its ws:// base."""
    port = free_port()
    config = uvicorn.Config(create_gateway_app(settings), port=port, log_config=None)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return server.started

    await eventually(started, 5.0, "uvicorn started")
    try:
        yield f"ws://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def closed_with(url: str) -> ConnectionClosed:
    async with connect(url, open_timeout=5) as socket:
        with pytest.raises(ConnectionClosed) as closed:
            await socket.recv()
    return closed.value


async def test_websocket_to_unconfigured_service_is_closed_with_policy_code():
    async with serving(GatewaySettings(environment="test", redis_port=free_port())) as base:
        closed = await closed_with(f"{base}/ws")
    assert closed.rcvd is not None and closed.rcvd.code == CLOSE_POLICY_VIOLATION
    assert "chat" in closed.rcvd.reason


async def test_websocket_to_dead_service_is_closed_try_again_later():
    settings = GatewaySettings(
        environment="test", redis_port=free_port(), chat_urls=[f"http://127.0.0.1:{free_port()}"]
    )
    async with serving(settings) as base:
        closed = await closed_with(f"{base}/ws")
    assert closed.rcvd is not None and closed.rcvd.code == CLOSE_TRY_AGAIN_LATER
