"""SQL of polls: creation, ballots and closing, under row-level security.

Votes and closing are serialised per poll by a transaction-scoped advisory
lock (votes share it, closing takes it exclusively), so a vote either
commits before the close or sees the poll closed: none slips in after.
One ballot per voter is the primary key of poll_ballots; replacing a ballot
upserts that row first, which also serialises two votes of the same user.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, text, true, update
from sqlalchemy.dialects.postgresql import aggregate_order_by, insert
from sqlalchemy.ext.asyncio import AsyncSession

from secureconnect.chat.models import (
    conversations,
    poll_ballots,
    poll_options,
    poll_votes,
    polls,
)
from secureconnect.common.scope import UserScope

#: First key of the advisory locks taken on polls (the second is the poll's hash).
POLL_LOCK_CLASS = 7_415_002
_LOCK_SHARED = text("SELECT pg_advisory_xact_lock_shared(:cls, hashtext(:poll_id))")
_LOCK_EXCLUSIVE = text("SELECT pg_advisory_xact_lock(:cls, hashtext(:poll_id))")


@dataclass(frozen=True)
class PollOption:
    id: uuid.UUID
    text: str


@dataclass(frozen=True)
class Poll:
    id: uuid.UUID
    conversation_id: uuid.UUID
    creator_id: uuid.UUID
    question: str
    multiple_choice: bool
    anonymous: bool
    closes_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    options: tuple[PollOption, ...]
    member_ids: tuple[uuid.UUID, ...] = ()


@dataclass(frozen=True)
class PollTally:
    poll: Poll
    votes: dict[uuid.UUID, int]
    voters: dict[uuid.UUID, list[uuid.UUID]]
    total_voters: int


@dataclass(frozen=True)
class PollView:
    """A poll with its votes, and whether it is closed (by the service's clock)."""

    tally: PollTally
    closed: bool


_POLL_COLUMNS = (
    polls.c.id,
    polls.c.conversation_id,
    polls.c.creator_id,
    polls.c.question,
    polls.c.multiple_choice,
    polls.c.anonymous,
    polls.c.closes_at,
    polls.c.closed_at,
    polls.c.created_at,
)


def _poll(row: Any) -> Poll:
    m = row._mapping
    fields = {c.name: m[c.name] for c in _POLL_COLUMNS}
    options = tuple(
        PollOption(*o) for o in zip(m["option_ids"] or (), m["option_texts"] or (), strict=True)
    )
    return Poll(**fields, options=options, member_ids=tuple(m["member_ids"]))


def _options(column: Any, label: str) -> Any:
    """One column of the poll's options, in their order, as an array."""
    o = poll_options
    ordered = aggregate_order_by(column, o.c.position)
    return (
        select(func.array_agg(ordered))
        .where(o.c.poll_id == polls.c.id)
        .scalar_subquery()
        .label(label)
    )


async def _load(session: AsyncSession, poll_id: uuid.UUID, user_id: uuid.UUID) -> Poll | None:
    """The poll with its options, in one statement; None when it is not visible to the user."""
    query = (
        select(
            *_POLL_COLUMNS,
            conversations.c.member_ids,
            _options(poll_options.c.id, "option_ids"),
            _options(poll_options.c.text, "option_texts"),
        )
        .join(conversations, conversations.c.id == polls.c.conversation_id)
        .where(polls.c.id == poll_id, conversations.c.member_ids.contains([user_id]))
    )
    row = (await session.execute(query)).first()
    return None if row is None else _poll(row)


async def _tally(session: AsyncSession, poll: Poll) -> PollTally:
    """Voters by option and the number of ballots, in one statement (one row per option
    voted for, or a single row without an option when nobody has voted)."""
    v = poll_votes
    ballots = (
        select(func.count().label("total"))
        .select_from(poll_ballots)
        .where(poll_ballots.c.poll_id == poll.id)
        .subquery()
    )
    by_option = (
        select(v.c.option_id, func.array_agg(v.c.user_id).label("users"))
        .where(v.c.poll_id == poll.id)
        .group_by(v.c.option_id)
        .subquery()
        .lateral()
    )
    rows = (
        await session.execute(
            select(ballots.c.total, by_option.c.option_id, by_option.c.users).select_from(
                ballots.outerjoin(by_option, true())
            )
        )
    ).all()
    voters = {row.option_id: sorted(row.users) for row in rows if row.option_id is not None}
    return PollTally(
        poll,
        votes={o.id: len(voters.get(o.id, [])) for o in poll.options},
        voters=voters,
        total_voters=int(rows[0].total),
    )


class PollStore:
    def __init__(self, scope: UserScope) -> None:
        self.scope = scope

    async def create(self, user_id: uuid.UUID, poll: Poll) -> PollTally | None:
        """None when the conversation is not the user's."""

        async def work(session: AsyncSession) -> PollTally | None:
            conversation = select(conversations.c.member_ids).where(
                conversations.c.id == poll.conversation_id,
                conversations.c.member_ids.contains([user_id]),
            )
            member_ids = (await session.execute(conversation)).scalar_one_or_none()
            if member_ids is None:
                return None
            values = {
                c.name: getattr(poll, c.name) for c in _POLL_COLUMNS if c.name != "created_at"
            }
            created_at = (
                await session.execute(insert(polls).values(**values).returning(polls.c.created_at))
            ).scalar_one()
            await session.execute(
                insert(poll_options),
                [
                    {"poll_id": poll.id, "id": o.id, "position": i, "text": o.text}
                    for i, o in enumerate(poll.options)
                ],
            )
            stored = Poll(
                **{**poll.__dict__, "created_at": created_at, "member_ids": tuple(member_ids)}
            )
            return PollTally(stored, {o.id: 0 for o in poll.options}, {}, 0)

        return await self.scope.run(user_id, "poll_create", work)

    async def tally(self, user_id: uuid.UUID, poll_id: uuid.UUID) -> PollTally | None:
        async def work(session: AsyncSession) -> PollTally | None:
            poll = await _load(session, poll_id, user_id)
            return None if poll is None else await _tally(session, poll)

        return await self.scope.run(user_id, "poll_get", work)

    async def vote(
        self,
        user_id: uuid.UUID,
        poll_id: uuid.UUID,
        choose: Callable[[Poll], list[uuid.UUID]],
    ) -> PollTally | None:
        """Replace the user's ballot with `choose(poll)` (which raises when the
        vote is not allowed); None when the poll is not visible to the user."""

        async def work(session: AsyncSession) -> PollTally | None:
            await session.execute(_LOCK_SHARED, {"cls": POLL_LOCK_CLASS, "poll_id": str(poll_id)})
            poll = await _load(session, poll_id, user_id)
            if poll is None:
                return None
            option_ids = choose(poll)
            ballot = insert(poll_ballots).values(poll_id=poll_id, user_id=user_id)
            await session.execute(
                ballot.on_conflict_do_update(
                    index_elements=["poll_id", "user_id"], set_={"cast_at": func.now()}
                )
            )
            await session.execute(
                delete(poll_votes).where(
                    poll_votes.c.poll_id == poll_id, poll_votes.c.user_id == user_id
                )
            )
            await session.execute(
                insert(poll_votes),
                [{"poll_id": poll_id, "user_id": user_id, "option_id": o} for o in option_ids],
            )
            return await _tally(session, poll)

        return await self.scope.run(user_id, "poll_vote", work)

    async def close(
        self,
        user_id: uuid.UUID,
        poll_id: uuid.UUID,
        allow: Callable[[Poll], None],
        now: datetime,
    ) -> tuple[PollTally, bool] | None:
        """Close the poll if `allow(poll)` does not raise: (tally, closed by this call)."""

        async def work(session: AsyncSession) -> tuple[PollTally, bool] | None:
            await session.execute(
                _LOCK_EXCLUSIVE, {"cls": POLL_LOCK_CLASS, "poll_id": str(poll_id)}
            )
            poll = await _load(session, poll_id, user_id)
            if poll is None:
                return None
            allow(poll)
            closed = await session.execute(
                update(polls)
                .where(polls.c.id == poll_id, polls.c.closed_at.is_(None))
                .values(closed_at=now)
                .returning(polls.c.closed_at)
            )
            closed_at = closed.scalar_one_or_none()
            if closed_at is not None:
                poll = Poll(**{**poll.__dict__, "closed_at": closed_at})
            return await _tally(session, poll), closed_at is not None

        return await self.scope.run(user_id, "poll_close", work)
