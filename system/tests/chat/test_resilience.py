"""Nothing acknowledged is lost, and presence survives a Redis outage.

Steady state: both chat instances ready, Redis healthy.
Fault: Redis cut (both instances degraded) while PostgreSQL is slow and
resets a share of its connections.
Assertions: 500 messages sent with client retries on the same client_msg_id
are, afterwards, each in history exactly once; presence held in memory
during the outage is what Redis holds (and every instance answers) after it.
"""

from __future__ import annotations

import asyncio
import time

import httpx
from redis.asyncio import Redis

from harness.faults.injector import FaultInjector
from harness.platform.base import Platform
from tests.chat.support import EventStream, User, history, new_conversation, send
from tests.helpers import eventually

MESSAGES = 500
SENDERS = 20
#: Each message is retried until acknowledged, within this budget.
SEND_DEADLINE_S = 60.0
STATE_DEADLINE_S = 10.0
PG_LATENCY_MS = 20
PG_RESET_SHARE = 0.5
ROUNDS = 5


async def redis_state(base_url: str) -> str:
    async with httpx.AsyncClient(base_url=base_url, timeout=2) as client:
        ready = (await client.get("/ready")).json()
    return ready["dependencies"]["redis"]["state"]


async def all_in_state(urls: list[str], state: str) -> None:
    async def reached() -> bool:
        return all([await redis_state(url) == state for url in urls])

    await eventually(reached, STATE_DEADLINE_S, f"chat instances redis {state}")


async def send_until_acknowledged(
    api: httpx.AsyncClient, user: User, conversation: str, content: str, key: str
) -> tuple[str, int]:
    """(message id, attempts); the same client_msg_id on every attempt."""
    end = time.monotonic() + SEND_DEADLINE_S
    attempts = 0
    while True:
        attempts += 1
        try:
            response = await send(api, user, conversation, content, key)
            if response.status_code == 201:
                return response.json()["message_id"], attempts
            assert response.status_code in (502, 503, 504), response.text
            last = f"{response.status_code} {response.text[:200]}"
        except httpx.TransportError as exc:
            last = repr(exc)  # the answer was lost: the message may or may not be stored
        assert time.monotonic() < end, (
            f"{key} not acknowledged within {SEND_DEADLINE_S}s ({attempts} attempts, last: {last})"
        )
        await asyncio.sleep(0.05)  # a retry pause, not a wait for a condition


async def test_nothing_acknowledged_is_lost(
    api: httpx.AsyncClient, alice: User, bob: User, faults: FaultInjector, instance_urls
):
    conversation = await new_conversation(api, alice, [bob])
    gate = asyncio.Semaphore(SENDERS)
    acknowledged: dict[str, str] = {}
    attempts_total = 0

    async def one(index: int) -> None:
        nonlocal attempts_total
        key = f"outage-{index}"
        async with gate:
            message_id, attempts = await send_until_acknowledged(
                api, alice, conversation, f"message {index}", key
            )
        acknowledged[key] = message_id
        attempts_total += attempts

    with faults.cut("redis"):
        await all_in_state(list(instance_urls.values()), "degraded")
        with faults.latency("postgres", ms=PG_LATENCY_MS):
            for start in range(0, MESSAGES, MESSAGES // ROUNDS):
                # A reset_peer toxic picks its victims among the connections when it is
                # added: a fresh toxic per round keeps the pools' connections dying.
                with faults.flaky("postgres", PG_RESET_SHARE):
                    batch = range(start, start + MESSAGES // ROUNDS)
                    await asyncio.gather(*(one(i) for i in batch))

    stored = await history(api, bob, conversation)
    assert len(acknowledged) == MESSAGES
    assert sorted(m["message_id"] for m in stored) == sorted(acknowledged.values())
    assert len(stored) == len({m["client_msg_id"] for m in stored}) == MESSAGES
    assert attempts_total > MESSAGES, "the faults caused no retry: the test proves nothing"


async def presence(base_url: str, viewer: User, user: User) -> dict:
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
        answer = await client.get(f"/api/v1/presence/{user.user_id}", headers=viewer.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_presence_held_in_memory_is_written_back(
    api: httpx.AsyncClient,
    users,
    stack: Platform,
    faults: FaultInjector,
    instance_urls: dict[str, str],
    streams,
):
    viewer, arriving, leaving = await users(3)
    await new_conversation(api, viewer, [arriving, leaving])
    chat_1, chat_2 = instance_urls["chat-1"], instance_urls["chat-2"]
    leaving_stream: EventStream = await streams(chat_1, leaving)

    with faults.cut("redis"):
        await all_in_state([chat_1], "degraded")
        await streams(chat_1, arriving)
        await leaving_stream.close()

        async def left() -> dict | None:
            answer = await presence(chat_1, viewer, leaving)
            return answer if answer["status"] == "offline" else None

        during = {leaving.user_id: await eventually(left, STATE_DEADLINE_S, "offline in memory")}
        during[arriving.user_id] = await presence(chat_1, viewer, arriving)
        assert during[arriving.user_id]["status"] == "online"

    await all_in_state(list(instance_urls.values()), "ok")
    # chat-2 holds none of this in memory: it answers from Redis.
    after = {u.user_id: await presence(chat_2, viewer, u) for u in (arriving, leaving)}
    assert after[leaving.user_id] == during[leaving.user_id]
    assert after[arriving.user_id]["status"] == "online"

    host, port = str(stack.endpoint("redis").address).rsplit(":", 1)
    password = stack.secret("redis_password")
    async with Redis(host=host, port=int(port), password=password, decode_responses=True) as redis:
        assert "chat-1" in await redis.hgetall(f"presence:{arriving.user_id}")
        assert "chat-1" not in await redis.hgetall(f"presence:{leaving.user_id}")
        assert await redis.get(f"last_seen:{leaving.user_id}") is not None


async def test_sockets_on_the_same_instance_still_get_events_while_redis_is_down(
    alice: User, bob: User, faults: FaultInjector, instance_urls: dict[str, str], streams
):
    chat_1 = instance_urls["chat-1"]
    async with httpx.AsyncClient(base_url=chat_1, timeout=10) as direct:
        conversation = await new_conversation(direct, alice, [bob])
        at_bob = await streams(chat_1, bob)
        with faults.cut("redis"):
            await all_in_state([chat_1], "degraded")
            sent = await send(direct, alice, conversation, "while redis is down")
            assert sent.status_code == 201, sent.text
            event = await at_bob.next("message.new")
            assert event["message_id"] == sent.json()["message_id"]
