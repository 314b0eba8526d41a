"""A service with several instances: a request or a WebSocket the gateway could not
connect to one of them with (nothing was sent) goes to the next; 502 (or a 1013 close)
only when none can be reached."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import REGISTRY
from secureconnect.gateway.service import first_reachable
from secureconnect.gateway.transport import KeepAlivePool, UpstreamRequest
from secureconnect.gateway.upstreams import Upstream
from secureconnect.gateway.websocket import open_first_reachable
from websockets.asyncio.server import ServerConnection, serve

from harness.platform.ports import free_port
from tests.gateway.test_transport import BIG, TIMEOUTS, StreamingServer


@pytest.fixture
async def pool() -> AsyncIterator[KeepAlivePool]:
    pool = KeepAlivePool(max_connections=4, keepalive_expiry_s=2, timeouts=TIMEOUTS)
    yield pool
    await pool.aclose()


def _dead() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens: refused


def _failovers(upstream: str) -> float:
    value = REGISTRY.get_sample_value("gateway_upstream_failovers_total", {"upstream": upstream})
    return value or 0.0


def test_each_instance_is_first_in_turn_then_the_others_follow() -> None:
    upstream = Upstream("chat", ["http://a:1", "http://b:2", "http://c:3"])
    firsts = [[o.host for o in upstream.candidates()] for _ in range(3)]
    assert firsts == [["a", "b", "c"], ["b", "a", "c"], ["c", "a", "b"]]


async def test_a_streamed_body_goes_whole_to_the_next_instance(pool: KeepAlivePool) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield BIG
        yield b"end"

    async with StreamingServer([b"ok"]) as live:
        live.more.set()
        upstream = Upstream("failover-test", [_dead(), f"http://127.0.0.1:{live.port}"])
        before = _failovers("failover-test")
        request = UpstreamRequest("POST", b"/upload", [], body())
        response = await first_reachable(pool, upstream, request)
        assert response.status == 200
        assert live.bodies == [BIG + b"end"]
        assert _failovers("failover-test") == before + 1


async def test_no_instance_reachable_is_the_connect_error(pool: KeepAlivePool) -> None:
    upstream = Upstream("chat", [_dead(), _dead()])
    with pytest.raises(httpx.ConnectError):
        await first_reachable(pool, upstream, UpstreamRequest("GET", b"/", [], b""))


async def test_a_websocket_goes_to_the_next_instance_when_one_is_refused() -> None:
    async def hello(connection: ServerConnection) -> None:
        await connection.send("live")

    async with serve(hello, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        urls = [_dead().replace("http", "ws"), f"ws://127.0.0.1:{port}/ws"]
        before = _failovers("ws-failover-test")
        upstream = await open_first_reachable("ws-failover-test", urls, [])
        async with upstream:
            assert await upstream.recv() == "live"
        assert _failovers("ws-failover-test") == before + 1


async def test_no_websocket_instance_reachable_is_the_connect_error() -> None:
    urls = [_dead().replace("http", "ws"), _dead().replace("http", "ws")]
    with pytest.raises(OSError):
        await open_first_reachable("chat", urls, [])
