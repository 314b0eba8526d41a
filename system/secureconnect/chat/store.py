"""SQL of conversations, messages and reactions, each transaction bound to a user.

`UserScope.run` (secureconnect.common.scope) starts every transaction with
`set_config('app.user_id', .., true)` (SET LOCAL), so the row-level security
policies of migration 0002 filter what the statements see and refuse what they
may not write: a second line of defence behind the service's own checks, never
the only one. The queries here still name the user explicitly where they mean
"mine".
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from secureconnect.chat.models import (
    SEARCH_CONFIG,
    conversation_participants,
    conversations,
    message_reactions,
    messages,
)
from secureconnect.common.errors import DomainError
from secureconnect.common.scope import UserScope


@dataclass(frozen=True)
class Conversation:
    id: uuid.UUID
    type: str
    title: str | None
    creator_id: uuid.UUID
    member_ids: tuple[uuid.UUID, ...]
    created_at: datetime


@dataclass(frozen=True)
class Message:
    id: uuid.UUID
    conversation_id: uuid.UUID
    sender_id: uuid.UUID
    client_msg_id: str
    content: str
    created_at: datetime


@dataclass(frozen=True)
class SentMessage:
    message: Message
    created: bool  # False: the idempotency key matched an earlier send
    member_ids: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class ReactionChange:
    conversation_id: uuid.UUID
    member_ids: tuple[uuid.UUID, ...]
    changed: bool


@dataclass(frozen=True)
class MessagePage:
    """Messages found, with their reactions (message id → emoji → users who reacted),
    and the `before` of the next (older) page when there may be one."""

    messages: list[Message]
    reactions: dict[uuid.UUID, dict[str, list[uuid.UUID]]]
    next_before: uuid.UUID | None = None


_CONVERSATION_COLUMNS = (
    conversations.c.id,
    conversations.c.type,
    conversations.c.title,
    conversations.c.creator_id,
    conversations.c.member_ids,
    conversations.c.created_at,
)
_MESSAGE_COLUMNS = (
    messages.c.id,
    messages.c.conversation_id,
    messages.c.sender_id,
    messages.c.client_msg_id,
    messages.c.content,
    messages.c.created_at,
)


def _conversation(row: Any) -> Conversation:
    m = row._mapping
    return Conversation(
        m["id"], m["type"], m["title"], m["creator_id"], tuple(m["member_ids"]), m["created_at"]
    )


def _message(row: Any) -> Message:
    m = row._mapping
    return Message(
        m["id"],
        m["conversation_id"],
        m["sender_id"],
        m["client_msg_id"],
        m["content"],
        m["created_at"],
    )


def client_msg_id_reused() -> DomainError:
    return DomainError(
        409, "client_msg_id_reused", "this client_msg_id was already used for a different message"
    )


def unknown_participants() -> DomainError:
    return DomainError(422, "unknown_participant", "a participant id is not a known user")


class ConversationStore:
    def __init__(self, scope: UserScope) -> None:
        self.scope = scope

    async def create(self, user_id: uuid.UUID, conversation: Conversation, direct_key: str | None):
        """Insert the conversation and its participants; for a direct pair that
        already has one, return that instead. (conversation, created)."""
        values = {c.name: getattr(conversation, c.name) for c in _CONVERSATION_COLUMNS}
        values["member_ids"] = list(conversation.member_ids)
        del values["created_at"]

        async def work(session: AsyncSession) -> tuple[Conversation, bool]:
            statement = insert(conversations).values(**values, direct_key=direct_key)
            if direct_key is not None:
                statement = statement.on_conflict_do_nothing(index_elements=["direct_key"])
            row = (await session.execute(statement.returning(*_CONVERSATION_COLUMNS))).first()
            if row is None:
                existing = select(*_CONVERSATION_COLUMNS).where(
                    conversations.c.direct_key == direct_key
                )
                return _conversation((await session.execute(existing)).one()), False
            await session.execute(
                insert(conversation_participants),
                [
                    {"conversation_id": conversation.id, "user_id": u}
                    for u in conversation.member_ids
                ],
            )
            return _conversation(row), True

        try:
            return await self.scope.run(user_id, "conversation_create", work)
        except IntegrityError as exc:  # a participant id that is no user
            raise unknown_participants() from exc

    async def get(self, user_id: uuid.UUID, conversation_id: uuid.UUID) -> Conversation | None:
        query = select(*_CONVERSATION_COLUMNS).where(
            conversations.c.id == conversation_id,
            conversations.c.member_ids.contains([user_id]),
        )

        async def work(session: AsyncSession) -> Conversation | None:
            row = (await session.execute(query)).first()
            return _conversation(row) if row else None

        return await self.scope.run(user_id, "conversation_get", work)

    async def list_for(self, user_id: uuid.UUID, limit: int) -> list[Conversation]:
        query = (
            select(*_CONVERSATION_COLUMNS)
            .where(conversations.c.member_ids.contains([user_id]))
            .order_by(conversations.c.created_at.desc(), conversations.c.id)
            .limit(limit)
        )

        async def work(session: AsyncSession) -> list[Conversation]:
            return [_conversation(r) for r in (await session.execute(query))]

        return await self.scope.run(user_id, "conversation_list", work)

    async def contacts(self, user_id: uuid.UUID) -> set[uuid.UUID]:
        """Everyone who shares a conversation with the user (the user included)."""
        query = select(func.unnest(conversations.c.member_ids).label("member")).where(
            conversations.c.member_ids.contains([user_id])
        )

        async def work(session: AsyncSession) -> set[uuid.UUID]:
            return {row.member for row in await session.execute(query.distinct())}

        return await self.scope.run(user_id, "conversation_contacts", work)

    async def shares_conversation(self, user_id: uuid.UUID, other_id: uuid.UUID) -> bool:
        query = select(conversations.c.id).where(
            conversations.c.member_ids.contains([user_id, other_id])
        )

        async def work(session: AsyncSession) -> bool:
            return (await session.execute(query.limit(1))).first() is not None

        return await self.scope.run(user_id, "conversation_shared", work)


# One round trip: membership (which also names the recipients) and the insert.
_SEND = text(
    """
    WITH conv AS (
        SELECT member_ids FROM conversations
        WHERE id = CAST(:conversation_id AS uuid)
          AND member_ids @> ARRAY[CAST(:sender_id AS uuid)]
    ), ins AS (
        INSERT INTO messages (id, conversation_id, sender_id, client_msg_id, content)
        SELECT CAST(:id AS uuid), CAST(:conversation_id AS uuid), CAST(:sender_id AS uuid),
               :client_msg_id, :content
        FROM conv
        ON CONFLICT (sender_id, client_msg_id) DO NOTHING
        RETURNING id, conversation_id, sender_id, client_msg_id, content, created_at
    )
    SELECT conv.member_ids, ins.* FROM conv LEFT JOIN ins ON true
    """
)


class MessageStore:
    def __init__(self, scope: UserScope) -> None:
        self.scope = scope

    async def send(self, draft: Message) -> SentMessage | None:
        """Store the message once per (sender, client_msg_id); None when the
        conversation is not the sender's."""
        params = {
            "id": str(draft.id),
            "conversation_id": str(draft.conversation_id),
            "sender_id": str(draft.sender_id),
            "client_msg_id": draft.client_msg_id,
            "content": draft.content,
        }

        async def work(session: AsyncSession) -> SentMessage | None:
            row = (await session.execute(_SEND, params)).first()
            if row is None:
                return None
            members = tuple(row.member_ids)
            if row.id is not None:
                return SentMessage(_message(row), True, members)
            earlier = select(*_MESSAGE_COLUMNS).where(
                messages.c.sender_id == draft.sender_id,
                messages.c.client_msg_id == draft.client_msg_id,
            )
            found = (await session.execute(earlier)).first()
            if found is None:  # used in a conversation the sender can no longer see
                raise client_msg_id_reused()
            return SentMessage(_message(found), False, members)

        return await self.scope.run(draft.sender_id, "message_send", work)

    async def history(
        self,
        user_id: uuid.UUID,
        conversation_id: uuid.UUID,
        before: uuid.UUID | None,
        limit: int,
    ) -> MessagePage | None:
        """Newest first, with their reactions, in one transaction; None when the
        conversation is not the user's."""

        async def work(session: AsyncSession) -> MessagePage | None:
            visible = select(conversations.c.id).where(
                conversations.c.id == conversation_id,
                conversations.c.member_ids.contains([user_id]),
            )
            if (await session.execute(visible)).first() is None:
                return None
            query = select(*_MESSAGE_COLUMNS).where(messages.c.conversation_id == conversation_id)
            if before is not None:
                cursor = select(messages.c.seq).where(
                    messages.c.id == before, messages.c.conversation_id == conversation_id
                )
                seq = (await session.execute(cursor)).scalar_one_or_none()
                if seq is None:
                    raise DomainError(
                        400, "invalid_cursor", "'before' is not a message of this conversation"
                    )
                query = query.where(messages.c.seq < seq)
            rows = await session.execute(query.order_by(messages.c.seq.desc()).limit(limit))
            found = [_message(r) for r in rows]
            more = len(found) == limit
            return await _page(session, found, found[-1].id if more else None)

        return await self.scope.run(user_id, "message_history", work)

    async def search(self, user_id: uuid.UUID, terms: str, limit: int) -> MessagePage:
        """Best matches first (ts_rank), only from the user's conversations, with their
        reactions, in one transaction."""
        query_vector = func.websearch_to_tsquery(SEARCH_CONFIG, terms)
        mine = select(conversation_participants.c.conversation_id).where(
            conversation_participants.c.user_id == user_id
        )
        rank = func.ts_rank(messages.c.search, query_vector)
        query = (
            select(*_MESSAGE_COLUMNS)
            .where(messages.c.search.op("@@")(query_vector), messages.c.conversation_id.in_(mine))
            .order_by(rank.desc(), messages.c.seq.desc())
            .limit(limit)
        )

        async def work(session: AsyncSession) -> MessagePage:
            return await _page(session, [_message(r) for r in await session.execute(query)])

        return await self.scope.run(user_id, "message_search", work)

    async def react(
        self, user_id: uuid.UUID, message_id: uuid.UUID, emoji: str, add: bool
    ) -> ReactionChange | None:
        """Add or remove one reaction; None when the message is not visible to the user."""
        target = (
            select(messages.c.conversation_id, conversations.c.member_ids)
            .join(conversations, conversations.c.id == messages.c.conversation_id)
            .where(messages.c.id == message_id, conversations.c.member_ids.contains([user_id]))
        )
        r = message_reactions
        mine = and_(r.c.message_id == message_id, r.c.user_id == user_id, r.c.emoji == emoji)

        async def work(session: AsyncSession) -> ReactionChange | None:
            found = (await session.execute(target)).first()
            if found is None:
                return None
            if add:
                statement = insert(r).values(
                    message_id=message_id,
                    user_id=user_id,
                    emoji=emoji,
                    conversation_id=found.conversation_id,
                )
                result = await session.execute(statement.on_conflict_do_nothing())
            else:
                result = await session.execute(delete(r).where(mine))
            changed = (result.rowcount or 0) > 0  # type: ignore[attr-defined]
            return ReactionChange(found.conversation_id, tuple(found.member_ids), changed)

        return await self.scope.run(user_id, "reaction_add" if add else "reaction_remove", work)


async def _page(
    session: AsyncSession, found: list[Message], next_before: uuid.UUID | None = None
) -> MessagePage:
    """The messages found with their reactions: message id → emoji → users who
    reacted, in reaction order."""
    reactions: dict[uuid.UUID, dict[str, list[uuid.UUID]]] = {}
    if found:
        r = message_reactions
        query = (
            select(r.c.message_id, r.c.emoji, func.array_agg(r.c.user_id).label("users"))
            .where(r.c.message_id.in_([m.id for m in found]))
            .group_by(r.c.message_id, r.c.emoji)
            .order_by(r.c.message_id, func.min(r.c.created_at))
        )
        for row in await session.execute(query):
            reactions.setdefault(row.message_id, {})[row.emoji] = list(row.users)
    return MessagePage(found, reactions, next_before)
