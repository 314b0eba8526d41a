"""WebSocket delivery across two chat instances: messages, reactions, typing,
presence and polls reach the other participants wherever their socket is;
other services' events arrive too; bad tokens and bad frames end the socket
with a close code and a reason."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime

import httpx
import pytest
from redis.asyncio import Redis
from secureconnect.chat.typing_indicator import TYPING_TIMEOUT_S
from secureconnect.common.bus import CHANNEL
from secureconnect.common.clock import ManualClock
from secureconnect.common.service_tokens import issue_service_token
from secureconnect.common.tokens import TokenCodec
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from harness.platform.base import Platform
from tests.chat.support import (
    EVENT_DEADLINE_S,
    User,
    assert_error,
    new_conversation,
    send,
    ws_url,
)


async def test_events_reach_participants_on_the_other_instance(
    api: httpx.AsyncClient, alice: User, bob: User, instance_urls, streams
):
    conversation = await new_conversation(api, alice, [bob])
    at_alice = await streams(instance_urls["chat-1"], alice)
    at_bob = await streams(instance_urls["chat-2"], bob)
    assert (at_alice.ready["instance_id"], at_bob.ready["instance_id"]) == ("chat-1", "chat-2")

    sent = (await send(api, alice, conversation, "across instances")).json()
    for stream in (at_bob, at_alice):  # the sender's other devices hear it too
        event = await stream.next("message.new")
        assert event["message_id"] == sent["message_id"] and event["content"] == "across instances"

    url = f"/api/v1/messages/{sent['message_id']}/reactions"
    assert (await api.post(url, json={"emoji": "🔥"}, headers=bob.headers)).status_code == 201
    added = await at_alice.next("reaction.added")
    assert (added["user_id"], added["emoji"]) == (bob.user_id, "🔥")
    assert (await api.delete(f"{url}/🔥", headers=bob.headers)).status_code == 204
    assert (await at_alice.next("reaction.removed"))["emoji"] == "🔥"


async def test_typing_over_rest_and_websocket_and_its_expiry(
    api: httpx.AsyncClient, alice: User, bob: User, instance_urls, streams
):
    conversation = await new_conversation(api, alice, [bob])
    at_alice = await streams(instance_urls["chat-1"], alice)
    at_bob = await streams(instance_urls["chat-2"], bob)

    started = time.time()
    typed = await api.post(f"/api/v1/conversations/{conversation}/typing", headers=alice.headers)
    assert typed.status_code == 204
    typing = await at_bob.next("typing")
    assert (typing["user_id"], typing["typing"]) == (alice.user_id, True)
    expires_in = datetime.fromisoformat(typing["expires_at"]).timestamp() - started
    assert TYPING_TIMEOUT_S - 1 <= expires_in <= TYPING_TIMEOUT_S + 1
    await send(api, alice, conversation, "done typing")  # a message ends the indicator at once
    stopped = await at_bob.next("typing", lambda e: e["user_id"] == alice.user_id)
    assert stopped["typing"] is False

    frame = {"type": "typing", "conversation_id": conversation}
    await at_bob.connection.send(json.dumps(frame))
    over_ws = await at_alice.next("typing")
    assert (over_ws["user_id"], over_ws["typing"]) == (bob.user_id, True)


async def test_presence_follows_sockets_across_instances(
    api: httpx.AsyncClient, alice: User, bob: User, instance_urls, streams
):
    await new_conversation(api, alice, [bob])
    at_alice = await streams(instance_urls["chat-1"], alice)
    at_bob = await streams(instance_urls["chat-2"], bob)
    online = await at_alice.next("presence", lambda e: e["user_id"] == bob.user_id)
    assert online["status"] == "online"
    seen = await api.get(f"/api/v1/presence/{bob.user_id}", headers=alice.headers)
    assert seen.json()["status"] == "online"

    await at_bob.close()
    offline = await at_alice.next("presence", lambda e: e["user_id"] == bob.user_id)
    assert offline["status"] == "offline" and offline["last_seen"]
    for base in instance_urls.values():  # both instances agree (through Redis)
        async with httpx.AsyncClient(base_url=base, timeout=5) as direct:
            answer = await direct.get(f"/api/v1/presence/{bob.user_id}", headers=alice.headers)
            assert answer.json()["status"] == "offline"


async def test_poll_events_are_live(
    api: httpx.AsyncClient, alice: User, bob: User, instance_urls, streams
):
    conversation = await new_conversation(api, alice, [bob])
    at_alice = await streams(instance_urls["chat-1"], alice)
    at_bob = await streams(instance_urls["chat-2"], bob)
    body = {"question": "lunch?", "options": ["pizza", "salad"]}
    created = await api.post(
        f"/api/v1/conversations/{conversation}/polls", json=body, headers=alice.headers
    )
    poll = created.json()
    assert (await at_bob.next("poll.created"))["poll_id"] == poll["poll_id"]
    vote = {"option_ids": [poll["options"][1]["option_id"]]}
    await api.post(f"/api/v1/polls/{poll['poll_id']}/votes", json=vote, headers=bob.headers)
    updated = await at_alice.next("poll.updated")
    assert [o["votes"] for o in updated["options"]] == [0, 1]
    await api.post(f"/api/v1/polls/{poll['poll_id']}/close", headers=alice.headers)
    closed = await at_bob.next("poll.closed")
    assert closed["closed"] is True and closed["total_voters"] == 1


async def test_the_gateway_spreads_sockets_over_both_instances(
    gateway_url: str, alice: User, streams
):
    instances = {(await streams(gateway_url, alice)).ready["instance_id"] for _ in range(4)}
    assert instances == {"chat-1", "chat-2"}


async def test_other_services_publish_events_over_http_and_redis(
    stack: Platform, alice: User, instance_urls, streams
):
    at_alice = await streams(instance_urls["chat-2"], alice)
    token = issue_service_token(stack.secret("jwt_secret"), "video")
    event = {"type": "call.incoming", "recipients": [alice.user_id], "data": {"call_id": "c1"}}
    async with httpx.AsyncClient(base_url=instance_urls["chat-1"], timeout=5) as chat_1:
        published = await chat_1.post(
            "/internal/v1/events", json=event, headers={"Authorization": f"Bearer {token}"}
        )
        assert published.status_code == 202, published.text
        assert (await at_alice.next("call.incoming"))["call_id"] == "c1"
        anonymous = await chat_1.post("/internal/v1/events", json=event)
        assert_error(anonymous, 401)
        as_user = await chat_1.post(
            "/internal/v1/events", json=event, headers={"Authorization": f"Bearer {token}x"}
        )
        assert_error(as_user, 401, "invalid_service_token")

    host, port = str(stack.endpoint("redis").address).rsplit(":", 1)
    envelope = {
        "origin": "video",
        "recipients": [alice.user_id],
        "type": "call.updated",
        "data": {"call_id": "c1", "state": "active"},
        "sent_at": time.time(),
    }
    async with Redis(host=host, port=int(port), password=stack.secret("redis_password")) as redis:
        await redis.publish(CHANNEL, json.dumps(envelope))
    assert (await at_alice.next("call.updated"))["state"] == "active"


async def _close_of(url: str, frames: list[str | bytes] = ()) -> tuple[int, str]:
    """Connect, send the frames, and return the close (code, reason) the server chose."""
    async with connect(url, open_timeout=5) as connection:
        for frame in frames:
            await connection.send(frame)
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(EVENT_DEADLINE_S):
                while True:
                    await connection.recv()
    assert closed.value.rcvd is not None, "the server closed without a close frame"
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def test_an_invalid_token_closes_the_socket_with_4401(
    stack: Platform, gateway_url: str, instance_urls, alice: User
):
    an_hour_ago = ManualClock(time.time() - 3600)
    expired, _ = TokenCodec(stack.secret("jwt_secret"), an_hour_ago).issue_access(
        alice.user_id, "session"
    )
    cases = {
        "invalid_token": ws_url(gateway_url, "not-a-jwt"),
        "token_expired": ws_url(instance_urls["chat-1"], expired),
        "missing_token": ws_url(instance_urls["chat-2"]),
    }
    for code, url in cases.items():
        close_code, reason = await _close_of(url)
        assert close_code == 4401, (url, close_code, reason)
        assert reason.startswith(code), reason


async def test_the_token_may_come_in_the_authorization_header(gateway_url: str, alice: User):
    headers = {"Authorization": f"Bearer {alice.access_token}"}
    async with connect(ws_url(gateway_url), additional_headers=headers, open_timeout=5) as socket:
        ready = json.loads(await socket.recv())
    assert ready["type"] == "ready" and ready["data"]["user_id"] == alice.user_id


async def test_probes_name_the_dependencies_and_metrics_are_exported(
    api: httpx.AsyncClient, alice: User, instance_urls, streams
):
    await streams(instance_urls["chat-1"], alice)
    async with httpx.AsyncClient(base_url=instance_urls["chat-1"], timeout=5) as chat_1:
        assert (await chat_1.get("/health")).json()["status"] == "ok"
        ready = (await chat_1.get("/ready")).json()
        assert ready["status"] == "ok"
        assert set(ready["dependencies"]) == {"postgres", "redis", "event_bus"}
        metrics = (await chat_1.get("/metrics")).text
    for name in (
        "chat_websocket_connections",
        "chat_messages_total",
        "chat_fanout_latency_seconds_bucket",
        "redis_degraded_mode",
    ):
        assert f"\n{name}{{" in metrics, name
