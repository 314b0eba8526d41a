"""Row-level security: the database itself refuses conversation data to anyone
but its participants, whatever the application asks (the second line of
defence behind the service's own checks). Straight to PostgreSQL as the
role the services use."""

from __future__ import annotations

import ssl
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from harness.platform.base import Platform
from tests.chat.support import User, new_conversation, send

CONVERSATION_TABLES = (
    "conversations",
    "conversation_participants",
    "messages",
    "message_reactions",
    "polls",
    "poll_options",
    "poll_ballots",
    "poll_votes",
)


@pytest.fixture
async def db(stack: Platform) -> AsyncIterator[asyncpg.Connection]:
    host, port = str(stack.endpoint("postgres").address).rsplit(":", 1)
    connection = await asyncpg.connect(
        host=host,
        port=int(port),
        user="secureconnect",
        database="secureconnect",
        password=stack.secret("db_password"),
        ssl=ssl.create_default_context(cafile=str(stack.ca_certificate())),
        timeout=5,
    )
    try:
        yield connection
    finally:
        await connection.close()


async def rows_as(db: asyncpg.Connection, user: str | None, query: str, *args: object) -> list:
    async with db.transaction():
        if user is not None:
            await db.execute("SELECT set_config('app.user_id', $1, true)", user)
        return await db.fetch(query, *args)


async def test_every_conversation_table_forces_row_level_security(db: asyncpg.Connection):
    flags = await db.fetch(
        "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
        "WHERE relname = ANY($1::text[])",
        list(CONVERSATION_TABLES),
    )
    assert {r["relname"]: (r["relrowsecurity"], r["relforcerowsecurity"]) for r in flags} == {
        table: (True, True) for table in CONVERSATION_TABLES
    }


async def test_only_participants_see_or_write_conversation_rows(
    api: httpx.AsyncClient, db: asyncpg.Connection, alice: User, bob: User, mallory: User
):
    conversation = await new_conversation(api, alice, [bob])
    await send(api, alice, conversation, "for bob only")
    by_conversation = "SELECT content FROM messages WHERE conversation_id = $1"
    conversation_id = uuid.UUID(conversation)

    assert await rows_as(db, None, by_conversation, conversation_id) == []  # no user, no rows
    assert await rows_as(db, mallory.user_id, by_conversation, conversation_id) == []
    seen = await rows_as(db, bob.user_id, by_conversation, conversation_id)
    assert [r["content"] for r in seen] == ["for bob only"]
    members = "SELECT user_id FROM conversation_participants WHERE conversation_id = $1"
    assert await rows_as(db, mallory.user_id, members, conversation_id) == []

    insert = (
        "INSERT INTO messages (id, conversation_id, sender_id, client_msg_id, content) "
        "VALUES ($1, $2, $3, $4, 'forged')"
    )
    for actor, sender in ((mallory, mallory), (bob, alice)):  # outsider; member posing as another
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
            async with db.transaction():
                await db.execute("SELECT set_config('app.user_id', $1, true)", actor.user_id)
                await db.execute(
                    insert, uuid.uuid4(), conversation_id, uuid.UUID(sender.user_id), "forged"
                )
    seen = await rows_as(db, alice.user_id, by_conversation, conversation_id)
    assert [r["content"] for r in seen] == ["for bob only"]
