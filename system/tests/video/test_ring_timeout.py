"""Unanswered calls end after RING_TIMEOUT_S — by the clock: the service runs
in-process against the stack's PostgreSQL and Redis with a clock the test
moves. Its events still reach the participants' sockets through chat."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from secureconnect.common.bus import BusPublisher
from secureconnect.common.clock import ManualClock
from secureconnect.common.db import Database
from secureconnect.common.errors import DomainError
from secureconnect.common.resilient_redis import ResilientRedis
from secureconnect.common.s3 import ResilientS3
from secureconnect.video import lifecycle
from secureconnect.video.metrics import CALL_EVENTS
from secureconnect.video.push import LogPushProvider, PushDispatcher
from secureconnect.video.recording import CallRecorder
from secureconnect.video.service import CallService
from secureconnect.video.settings import RING_TIMEOUT_S, VideoSettings
from secureconnect.video.store import CallStore, utc
from secureconnect.video.turn import TurnCredentials

from tests.chat.support import EventStream, User


@dataclass
class ClockedCalls:
    calls: CallService
    clock: ManualClock


@pytest.fixture
async def clocked(settings: VideoSettings) -> AsyncIterator[ClockedCalls]:
    clock = ManualClock(time.time())
    db = Database(settings, "video-clocked")
    redis = ResilientRedis(settings, "video-clocked", clock)
    await redis.start()
    s3 = ResilientS3(settings, "video-clocked", clock)
    http = httpx.AsyncClient()
    store = CallStore(db)
    events = BusPublisher(redis, [], settings.jwt_key(), clock, http, CALL_EVENTS)
    push = PushDispatcher(LogPushProvider("video-clocked"), "video-clocked")
    turn = TurnCredentials("", [], clock)
    recorder = CallRecorder(
        store, s3, settings.s3_bucket, settings.recording_dir, clock, "video-clocked", None
    )
    calls = CallService(store, events, push, turn, recorder, clock, RING_TIMEOUT_S, "video-clocked")
    try:
        yield ClockedCalls(calls, clock)
    finally:
        await push.close()
        await s3.close()
        await http.aclose()
        await redis.stop()
        await db.close()


async def test_an_unanswered_call_ends_when_its_ring_timeout_passes(
    clocked: ClockedCalls, gateway_url: str, alice: User, bob: User, conversation: str
) -> None:
    bob_events = await EventStream.open(gateway_url, bob)
    try:
        caller, conversation_id = uuid.UUID(alice.user_id), uuid.UUID(conversation)
        call = await clocked.calls.initiate(caller, conversation_id, "audio", "p2p", False)
        incoming = await bob_events.next("call.incoming", lambda d: d["call_id"] == str(call.id))
        assert incoming["state"] == "ringing"

        clocked.clock.advance(RING_TIMEOUT_S - 1)
        expired = await clocked.calls.expire_unanswered()
        assert call.id not in {c.id for c in expired}
        assert (await clocked.calls.get(caller, call.id)).state == "ringing"

        clocked.clock.advance(2)
        expired = await clocked.calls.expire_unanswered()
        [ended] = [c for c in expired if c.id == call.id]
        assert ended.state == "ended" and ended.end_reason == "unanswered"
        assert all(p.status != "joined" for p in ended.participants)
        update = await bob_events.next(
            "call.updated", lambda d: d["call_id"] == str(call.id) and d["state"] == "ended"
        )
        assert update["end_reason"] == "unanswered"
    finally:
        await bob_events.close()


async def test_an_answer_after_the_deadline_is_too_late(
    clocked: ClockedCalls, alice: User, bob: User, conversation: str
) -> None:
    caller, callee = uuid.UUID(alice.user_id), uuid.UUID(bob.user_id)
    call = await clocked.calls.initiate(caller, uuid.UUID(conversation), "video", "sfu", False)
    clocked.clock.advance(RING_TIMEOUT_S)  # no sweep ran: the join itself sees the deadline
    with pytest.raises(DomainError) as refused:
        await clocked.calls.join(callee, call.id)
    assert (refused.value.status, refused.value.code) == (409, "call_ended")
    after = await clocked.calls.get(callee, call.id)
    assert after.state == "ended" and after.end_reason == "unanswered"


async def test_the_sweeper_leaves_alone_a_call_answered_since_it_was_found(
    clocked: ClockedCalls, alice: User, bob: User, conversation: str
) -> None:
    caller, callee = uuid.UUID(alice.user_id), uuid.UUID(bob.user_id)
    call = await clocked.calls.initiate(caller, uuid.UUID(conversation), "audio", "p2p", False)
    await clocked.calls.join(callee, call.id)
    # As if found ringing by a sweep a moment earlier: its policy no longer shows the call.
    late = utc(clocked.clock.now() + RING_TIMEOUT_S)
    assert await clocked.calls.store.expire(call.id, lambda c: lifecycle.expire(c, late)) is None
    assert (await clocked.calls.get(caller, call.id)).state == "active"


async def test_participants_hear_of_calls_on_their_sockets(
    api: httpx.AsyncClient, gateway_url: str, alice: User, bob: User, conversation: str
) -> None:
    alice_events = await EventStream.open(gateway_url, alice)
    bob_events = await EventStream.open(gateway_url, bob)
    try:
        body = {"conversation_id": conversation, "media": "video", "mode": "sfu"}
        placed = await api.post("/api/v1/calls", json=body, headers=alice.headers)
        call_id = placed.json()["call_id"]
        incoming = await bob_events.next("call.incoming", lambda d: d["call_id"] == call_id)
        assert incoming["initiator_id"] == alice.user_id
        await api.post(f"/api/v1/calls/{call_id}/join", headers=bob.headers)
        active = await alice_events.next(
            "call.updated", lambda d: d["call_id"] == call_id and d["state"] == "active"
        )
        assert {p["user_id"]: p["status"] for p in active["participants"]} == {
            alice.user_id: "joined",
            bob.user_id: "joined",
        }
        await api.post(f"/api/v1/calls/{call_id}/end", headers=bob.headers)
        await alice_events.next(
            "call.updated", lambda d: d["call_id"] == call_id and d["state"] == "ended"
        )
    finally:
        await alice_events.close()
        await bob_events.close()
