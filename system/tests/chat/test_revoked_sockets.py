"""A socket lives no longer than its session: logout and refresh-token reuse close
the user's sockets on every chat instance (auth → event bus → chat), also while
Redis is away (auth → chat's internal route on every instance); the revocation
recheck closes them should the event be lost."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from secureconnect.chat.hub import (
    CLOSE_UNAUTHORIZED,
    REVOKED_REASON,
    Connection,
    ConnectionHub,
)
from secureconnect.common.clock import ManualClock
from websockets.exceptions import ConnectionClosed

from harness.faults.injector import FaultInjector
from tests.chat.support import EVENT_DEADLINE_S, PASSWORD, EventStream, User
from tests.helpers import eventually

#: How long an instance may take to subscribe again after a Redis fault, seconds.
BUS_DEADLINE_S = 10.0


async def closed_with(stream: EventStream) -> tuple[int, str]:
    """The close (code, reason) the server sends, reading past any event."""
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(EVENT_DEADLINE_S):
            while True:
                await stream.connection.recv()
    assert closed.value.rcvd is not None, "the server closed without a close frame"
    return closed.value.rcvd.code, closed.value.rcvd.reason


@pytest.fixture
async def bus_subscribed(instance_urls: dict[str, str]) -> None:
    """Every chat instance subscribed to the event bus. An earlier test may have just cut
    Redis: an event auth publishes before an instance has subscribed again reaches no
    socket there (by design: the revocation recheck closes them within
    REVOCATION_RECHECK_S, longer than these tests wait)."""

    async def subscribed() -> bool:
        async with httpx.AsyncClient(timeout=2) as client:
            answers = [await client.get(f"{url}/ready") for url in instance_urls.values()]
        return all(a.json()["dependencies"]["event_bus"]["state"] == "ok" for a in answers)

    await eventually(subscribed, BUS_DEADLINE_S, "chat instances subscribed to the event bus")


async def logout(api: httpx.AsyncClient, user: User) -> None:
    answer = await api.post("/api/v1/auth/logout", headers=user.headers)
    assert answer.status_code == 204, answer.text


async def test_logout_closes_the_sockets_on_every_instance(
    api: httpx.AsyncClient, alice: User, instance_urls, streams, bus_subscribed: None
):
    opened = [await streams(url, alice) for url in instance_urls.values()]
    await logout(api, alice)
    for stream in opened:
        assert await closed_with(stream) == (CLOSE_UNAUTHORIZED, REVOKED_REASON)


async def test_logout_closes_them_while_redis_is_away(
    api: httpx.AsyncClient, alice: User, instance_urls, streams, faults: FaultInjector
):
    opened = [await streams(url, alice) for url in instance_urls.values()]
    with faults.cut("redis"):
        await logout(api, alice)
        for stream in opened:
            assert await closed_with(stream) == (CLOSE_UNAUTHORIZED, REVOKED_REASON)


async def test_other_sessions_of_the_user_stay_open(
    api: httpx.AsyncClient, alice: User, instance_urls, streams, bus_subscribed: None
):
    login = await api.post("/api/v1/auth/login", json={"email": alice.email, "password": PASSWORD})
    other = User(alice.user_id, alice.email, login.json()["access_token"])
    staying = await streams(instance_urls["chat-2"], other)
    leaving = await streams(instance_urls["chat-1"], alice)
    await logout(api, alice)
    assert await closed_with(leaving) == (CLOSE_UNAUTHORIZED, REVOKED_REASON)
    await staying.connection.send('{"type": "ping"}')
    assert await staying.next("pong") == {}


def test_the_hub_drops_only_the_revoked_sessions_sockets():
    hub = ConnectionHub(ManualClock(), "unit-chat")
    user = uuid.uuid4()
    by_session = Connection(user, 1e12, 0.0, session_id="s1", token_id="t1")
    by_token = Connection(user, 1e12, 0.0, session_id="s2", token_id="t2")
    other = Connection(user, 1e12, 0.0, session_id="s3", token_id="t3")
    stranger = Connection(uuid.uuid4(), 1e12, 0.0, session_id="s1", token_id="t1")
    for connection in (by_session, by_token, other, stranger):
        hub.add(connection)
    assert hub.revoke(user, "s1", ["t2"]) == 2
    assert by_session.close_with == by_token.close_with == (CLOSE_UNAUTHORIZED, REVOKED_REASON)
    assert other.close_with is None and stranger.close_with is None


async def test_refresh_token_reuse_closes_the_sessions_sockets(
    api: httpx.AsyncClient, alice: User, instance_urls, streams, bus_subscribed: None
):
    login = await api.post("/api/v1/auth/login", json={"email": alice.email, "password": PASSWORD})
    pair = login.json()
    session = User(alice.user_id, alice.email, pair["access_token"])
    opened = [await streams(url, session) for url in instance_urls.values()]
    first = await api.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert first.status_code == 200, first.text
    reused = await api.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert reused.status_code == 401, reused.text
    for stream in opened:
        assert await closed_with(stream) == (CLOSE_UNAUTHORIZED, REVOKED_REASON)
