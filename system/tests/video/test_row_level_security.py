"""Row-level security on the video tables (migration 0005_video_rls), seen from
PostgreSQL as the application role: the service's own checks are out of the way
on purpose, so only the policies stand between a user and a call that is not
theirs, and between the system tasks and more than their job. Every transaction
here is rolled back, so the call keeps ringing for the API."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import httpx
import pytest
from secureconnect.video.store import GAUGE_TASK, SWEEPER_TASK

from harness.platform.base import Platform
from tests.chat.support import User
from tests.stores import connect_postgres
from tests.video.support import place_call

CALLS = "SELECT count(*) FROM calls WHERE id = $1"
PARTICIPANTS = "SELECT count(*) FROM call_participants WHERE call_id = $1"
END = "UPDATE calls SET state = 'ended', end_reason = $2, ended_at = now() WHERE id = $1"
LEAVE = "UPDATE call_participants SET status = 'left', left_at = now() WHERE call_id = $1"
DEVICES = "SELECT count(*) FROM push_devices WHERE user_id = $1"


@pytest.fixture
async def db(stack: Platform) -> AsyncIterator[asyncpg.Connection]:
    conn = await connect_postgres(stack)
    try:
        yield conn
    finally:
        await conn.close()


@asynccontextmanager
async def acting(conn: asyncpg.Connection, **settings: str) -> AsyncIterator[asyncpg.Connection]:
    """A transaction with these `app.*` settings (SET LOCAL), rolled back at the end."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        for name, value in settings.items():
            await conn.execute("SELECT set_config($1, $2, true)", f"app.{name}", value)
        yield conn
    finally:
        await transaction.rollback()


async def ringing_call(api: httpx.AsyncClient, caller: User, conversation: str) -> uuid.UUID:
    return uuid.UUID((await place_call(api, caller, conversation, mode="p2p"))["call_id"])


async def test_a_stranger_sees_and_changes_no_call_while_a_participant_does(
    api: httpx.AsyncClient,
    db: asyncpg.Connection,
    alice: User,
    bob: User,
    mallory: User,
    conversation: str,
) -> None:
    call_id = await ringing_call(api, alice, conversation)
    for stranger in ({"user_id": mallory.user_id}, {}):  # another user; nobody at all
        async with acting(db, **stranger) as conn:
            assert await conn.fetchval(CALLS, call_id) == 0
            assert await conn.fetchval(PARTICIPANTS, call_id) == 0
            assert await conn.execute(END, call_id, "ended") == "UPDATE 0"
            assert await conn.execute(LEAVE, call_id) == "UPDATE 0"
    async with acting(db, user_id=bob.user_id) as conn:
        assert await conn.fetchval(CALLS, call_id) == 1
        assert await conn.fetchval(PARTICIPANTS, call_id) == 2
        assert await conn.execute(LEAVE, call_id) == "UPDATE 2"
        assert await conn.execute(END, call_id, "ended") == "UPDATE 1"


async def test_a_stranger_cannot_place_a_call_in_a_conversation_not_theirs(
    db: asyncpg.Connection, alice: User, mallory: User, conversation: str
) -> None:
    insert = (
        "INSERT INTO calls (id, conversation_id, initiator_id, media, mode, state, record,"
        " created_at, ring_deadline) VALUES ($1, $2, $3, 'audio', 'p2p', 'ringing', false,"
        " now(), now())"
    )
    conversation_id = uuid.UUID(conversation)
    async with acting(db, user_id=mallory.user_id) as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(insert, uuid.uuid4(), conversation_id, uuid.UUID(mallory.user_id))
    async with acting(db, user_id=alice.user_id) as conn:
        await conn.execute(insert, uuid.uuid4(), conversation_id, uuid.UUID(alice.user_id))


async def test_the_gauge_counts_live_calls_and_changes_nothing(
    api: httpx.AsyncClient, db: asyncpg.Connection, alice: User, conversation: str
) -> None:
    call_id = await ringing_call(api, alice, conversation)
    async with acting(db, system_task=GAUGE_TASK) as conn:
        assert await conn.fetchval(CALLS, call_id) == 1
        assert await conn.fetchval(PARTICIPANTS, call_id) == 0
        assert await conn.execute(END, call_id, "unanswered") == "UPDATE 0"
    async with acting(db, system_task="anything-else") as conn:
        assert await conn.fetchval(CALLS, call_id) == 0


async def test_the_sweeper_ends_only_the_call_it_names_and_only_as_unanswered(
    api: httpx.AsyncClient, db: asyncpg.Connection, alice: User, conversation: str
) -> None:
    call_id = await ringing_call(api, alice, conversation)
    async with acting(db, system_task=SWEEPER_TASK) as conn:
        assert await conn.fetchval(CALLS, call_id) == 1  # it finds ringing calls
        assert await conn.fetchval(PARTICIPANTS, call_id) == 0
        assert await conn.execute(END, call_id, "unanswered") == "UPDATE 0"
    pinned = {"system_task": SWEEPER_TASK, "system_call_id": str(call_id)}
    async with acting(db, **pinned) as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(END, call_id, "completed")
    async with acting(db, **pinned) as conn:
        assert await conn.fetchval(PARTICIPANTS, call_id) == 2
        assert await conn.execute(LEAVE, call_id) == "UPDATE 2"
        assert await conn.execute(END, call_id, "unanswered") == "UPDATE 1"
        assert await conn.execute(END, call_id, "unanswered") == "UPDATE 0"  # no longer rings


async def test_push_devices_are_their_owners_and_the_ringing_callers(
    api: httpx.AsyncClient,
    db: asyncpg.Connection,
    alice: User,
    bob: User,
    mallory: User,
    conversation: str,
) -> None:
    device = {"token": f"rls-{uuid.uuid4().hex}", "platform": "android"}
    registered = await api.post("/api/v1/calls/push-devices", json=device, headers=bob.headers)
    assert registered.status_code == 204, registered.text
    callee = uuid.UUID(bob.user_id)
    async with acting(db, user_id=alice.user_id) as conn:
        assert await conn.fetchval(DEVICES, callee) == 0  # no call rings bob yet
    await ringing_call(api, alice, conversation)
    expected = {bob.user_id: 1, alice.user_id: 1, mallory.user_id: 0}
    for user_id, visible in expected.items():
        async with acting(db, user_id=user_id) as conn:
            assert await conn.fetchval(DEVICES, callee) == visible, user_id
    async with acting(db, user_id=alice.user_id) as conn:
        deleted = await conn.execute("DELETE FROM push_devices WHERE user_id = $1", callee)
        assert deleted == "DELETE 0"
