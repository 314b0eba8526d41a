"""The gateway in-process: unconfigured services, rate limits, readiness."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from secureconnect.common.clock import ManualClock
from secureconnect.gateway.app import create_gateway_app
from secureconnect.gateway.settings import GatewaySettings

from tests.helpers import assert_error
from tests.servers import free_port

PER_ADDRESS = 3


@pytest.fixture
async def gateway() -> AsyncIterator[httpx.AsyncClient]:
    settings = GatewaySettings(
        environment="test",
        redis_port=free_port(),  # unreachable: limits run on the in-memory fallback
        auth_url=f"http://127.0.0.1:{free_port()}",
        rate_limit_per_address=PER_ADDRESS,
    )
    app = create_gateway_app(settings, ManualClock(start=6000.0))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 5555))
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            yield client


async def test_unconfigured_service_is_503(gateway: httpx.AsyncClient):
    error = assert_error(await gateway.get("/api/v1/conversations"), 503, "service_unavailable")
    assert "chat" in error["message"]


async def test_rate_limit_per_address_is_429_with_retry_after(gateway: httpx.AsyncClient):
    for _ in range(PER_ADDRESS):
        assert (await gateway.get("/api/v1/polls/x")).status_code == 503
    limited = await gateway.get("/api/v1/polls/x")
    assert_error(limited, 429, "rate_limited")
    assert 0 < int(limited.headers["retry-after"]) <= 60


async def test_ready_is_503_when_auth_is_down(gateway: httpx.AsyncClient):
    ready = await gateway.get("/ready")
    body = ready.json()
    assert ready.status_code == 503 and body["status"] == "down"
    assert body["dependencies"]["auth"] == {"state": "down", "required": True}
    assert body["dependencies"]["redis"]["required"] is False
