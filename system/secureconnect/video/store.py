"""SQL of calls, participants, recordings and push devices.

A state change is read-decide-write in one transaction: `CallStore.change`
locks the call row (SELECT ... FOR UPDATE), hands the current record to a
pure decision function of the service, and writes what it decided, so two
people joining or ending at once never lose an update.

Row-level security (migrations 0002 and 0005) is the second line of defence
behind the service's own checks: every transaction on behalf of a user is
identified as that user (`UserScope`, `app.user_id`) and sees only calls of
conversations they belong to. The sweeper and the gauge are on behalf of
nobody; they run as the system tasks SWEEPER_TASK and GAUGE_TASK
(`SystemScope`), whose policies allow just what they do here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from secureconnect.common.db import Database
from secureconnect.common.errors import DomainError
from secureconnect.common.scope import SystemScope, UserScope
from secureconnect.video.models import call_participants, call_recordings, calls, push_devices

#: The ring-timeout sweeper's system task (policies in migration 0005).
SWEEPER_TASK = "ring-sweeper"
#: The live calls gauge's system task (policies in migration 0005).
GAUGE_TASK = "call-gauge"

_MEMBERS = text("SELECT member_ids FROM conversations WHERE id = :conversation_id")


def utc(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC)


def call_not_found() -> DomainError:
    return DomainError(404, "call_not_found", "no such call")


@dataclass(frozen=True)
class Participant:
    user_id: uuid.UUID
    status: str  # invited | joined | left
    joined_at: datetime | None = None
    left_at: datetime | None = None


@dataclass(frozen=True)
class CallRecord:
    id: uuid.UUID
    conversation_id: uuid.UUID
    initiator_id: uuid.UUID
    media: str
    mode: str
    state: str  # ringing | active | ended
    record: bool
    created_at: datetime
    ring_deadline: datetime
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str | None = None
    participants: tuple[Participant, ...] = field(default=())

    def participant(self, user_id: uuid.UUID) -> Participant | None:
        return next((p for p in self.participants if p.user_id == user_id), None)

    @property
    def user_ids(self) -> list[uuid.UUID]:
        return [p.user_id for p in self.participants]

    @property
    def joined(self) -> list[uuid.UUID]:
        return [p.user_id for p in self.participants if p.status == "joined"]


@dataclass(frozen=True)
class Recording:
    id: uuid.UUID
    call_id: uuid.UUID
    user_id: uuid.UUID
    object_key: str
    content_type: str
    size_bytes: int
    duration_s: float | None
    created_at: datetime


#: What a change may write of a call row.
_CALL_FIELDS = ("state", "answered_at", "ended_at", "end_reason")
_CREATED_FIELDS = (
    "id",
    "conversation_id",
    "initiator_id",
    "media",
    "mode",
    "state",
    "record",
    "created_at",
    "ring_deadline",
    "answered_at",
)


def _call(row: Any, participants: Iterable[Participant]) -> CallRecord:
    m = row._mapping
    return CallRecord(
        id=m["id"],
        conversation_id=m["conversation_id"],
        initiator_id=m["initiator_id"],
        media=m["media"],
        mode=m["mode"],
        state=m["state"],
        record=m["record"],
        created_at=m["created_at"],
        ring_deadline=m["ring_deadline"],
        answered_at=m["answered_at"],
        ended_at=m["ended_at"],
        end_reason=m["end_reason"],
        participants=tuple(sorted(participants, key=lambda p: str(p.user_id))),
    )


def _participant(row: Any) -> Participant:
    m = row._mapping
    return Participant(m["user_id"], m["status"], m["joined_at"], m["left_at"])


async def _load(session: AsyncSession, call_id: uuid.UUID, lock: bool) -> CallRecord | None:
    statement = select(calls).where(calls.c.id == call_id)
    row = (await session.execute(statement.with_for_update() if lock else statement)).first()
    if row is None:
        return None
    rows = await session.execute(
        select(call_participants).where(call_participants.c.call_id == call_id)
    )
    return _call(row, (_participant(r) for r in rows))


async def _write(session: AsyncSession, before: CallRecord, after: CallRecord) -> None:
    # Participants first: the sweeper's policy lets it change them only while the call rings.
    old = {p.user_id: p for p in before.participants}
    for participant in after.participants:
        if old.get(participant.user_id) == participant:
            continue
        await session.execute(
            update(call_participants)
            .where(
                call_participants.c.call_id == after.id,
                call_participants.c.user_id == participant.user_id,
            )
            .values(
                status=participant.status,
                joined_at=participant.joined_at,
                left_at=participant.left_at,
            )
        )
    changed = {
        f: getattr(after, f) for f in _CALL_FIELDS if getattr(after, f) != getattr(before, f)
    }
    if changed:
        await session.execute(update(calls).where(calls.c.id == after.id).values(**changed))


Decision = Callable[[CallRecord], CallRecord]


async def _change(
    session: AsyncSession, call_id: uuid.UUID, decide: Decision
) -> tuple[CallRecord, CallRecord] | None:
    """Lock the call, decide, write; None when the transaction may not see the call."""
    before = await _load(session, call_id, lock=True)
    if before is None:
        return None
    after = decide(before)
    await _write(session, before, after)
    return before, after


class CallStore:
    def __init__(self, db: Database) -> None:
        self.user = UserScope(db)
        self.system = SystemScope(db)

    async def conversation_members(
        self, user_id: uuid.UUID, conversation_id: uuid.UUID
    ) -> tuple[uuid.UUID, ...] | None:
        """The members, or None when the conversation does not exist for this user."""

        async def work(session: AsyncSession) -> tuple[uuid.UUID, ...] | None:
            row = (await session.execute(_MEMBERS, {"conversation_id": conversation_id})).first()
            return None if row is None else tuple(row[0])

        return await self.user.run(user_id, "conversation_members", work)

    async def create(self, call: CallRecord) -> None:
        """Insert the call and its participants, as its initiator."""
        values = {field: getattr(call, field) for field in _CREATED_FIELDS}
        rows = [
            {
                "call_id": call.id,
                "user_id": p.user_id,
                "status": p.status,
                "joined_at": p.joined_at,
                "left_at": p.left_at,
            }
            for p in call.participants
        ]

        async def work(session: AsyncSession) -> None:
            await session.execute(insert(calls).values(**values))
            await session.execute(insert(call_participants), rows)

        await self.user.run(call.initiator_id, "create_call", work)

    async def get(self, user_id: uuid.UUID, call_id: uuid.UUID) -> CallRecord | None:
        return await self.user.run(user_id, "get_call", lambda s: _load(s, call_id, lock=False))

    async def change(
        self, user_id: uuid.UUID, call_id: uuid.UUID, decide: Decision
    ) -> tuple[CallRecord, CallRecord]:
        """(before, after): `decide` sees the locked call and returns what it becomes."""

        async def work(session: AsyncSession) -> tuple[CallRecord, CallRecord]:
            changed = await _change(session, call_id, decide)
            if changed is None:
                raise call_not_found()
            return changed

        return await self.user.run(user_id, "change_call", work)

    # -- system tasks ------------------------------------------------------------

    async def due_to_expire(self, now: datetime, limit: int) -> list[uuid.UUID]:
        statement = (
            select(calls.c.id)
            .where(calls.c.state == "ringing", calls.c.ring_deadline <= now)
            .order_by(calls.c.ring_deadline)
            .limit(limit)
        )

        async def work(session: AsyncSession) -> list[uuid.UUID]:
            return list((await session.execute(statement)).scalars())

        return await self.system.run(SWEEPER_TASK, "due_to_expire", work)

    async def expire(
        self, call_id: uuid.UUID, decide: Decision
    ) -> tuple[CallRecord, CallRecord] | None:
        """Like `change`, as the sweeper; None when the call no longer rings."""
        return await self.system.run(
            SWEEPER_TASK, "expire_call", lambda s: _change(s, call_id, decide), call_id=call_id
        )

    async def live_counts(self) -> dict[str, int]:
        statement = (
            select(calls.c.state, func.count())
            .where(calls.c.state != "ended")
            .group_by(calls.c.state)
        )

        async def work(session: AsyncSession) -> dict[str, int]:
            return {state: count for state, count in (await session.execute(statement)).all()}

        return await self.system.run(GAUGE_TASK, "live_counts", work)

    # -- recordings ------------------------------------------------------------

    async def add_recording(self, recording: Recording) -> None:
        """List a recording, as the participant whose media it holds."""
        values = {
            "id": recording.id,
            "call_id": recording.call_id,
            "user_id": recording.user_id,
            "object_key": recording.object_key,
            "content_type": recording.content_type,
            "size_bytes": recording.size_bytes,
            "duration_s": recording.duration_s,
            "created_at": recording.created_at,
        }

        async def work(session: AsyncSession) -> None:
            await session.execute(insert(call_recordings).values(**values))

        await self.user.run(recording.user_id, "add_recording", work)

    async def recordings(self, user_id: uuid.UUID, call_id: uuid.UUID) -> list[Recording]:
        statement = (
            select(call_recordings)
            .where(call_recordings.c.call_id == call_id)
            .order_by(call_recordings.c.created_at, call_recordings.c.id)
        )

        async def work(session: AsyncSession) -> list[Recording]:
            rows = await session.execute(statement)
            return [Recording(**dict(row._mapping)) for row in rows]

        return await self.user.run(user_id, "list_recordings", work)

    # -- push devices ----------------------------------------------------------

    async def add_device(self, user_id: uuid.UUID, token: str, platform: str) -> None:
        statement = insert(push_devices).values(user_id=user_id, token=token, platform=platform)
        statement = statement.on_conflict_do_update(
            index_elements=["user_id", "token"], set_={"platform": platform}
        )

        async def work(session: AsyncSession) -> None:
            await session.execute(statement)

        await self.user.run(user_id, "add_device", work)

    async def remove_device(self, user_id: uuid.UUID, token: str) -> None:
        """Forget a device of `user_id` (the provider rejected it), as its owner."""
        statement = push_devices.delete().where(
            push_devices.c.user_id == user_id, push_devices.c.token == token
        )

        async def work(session: AsyncSession) -> None:
            await session.execute(statement)

        await self.user.run(user_id, "remove_device", work)

    async def devices(
        self, caller_id: uuid.UUID, user_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[str]]:
        """The devices of `user_ids`, as the caller whose ringing call invites them."""
        statement = select(push_devices.c.user_id, push_devices.c.token).where(
            push_devices.c.user_id.in_(list(user_ids))
        )

        async def work(session: AsyncSession) -> dict[uuid.UUID, list[str]]:
            found: dict[uuid.UUID, list[str]] = {}
            for user_id, token in (await session.execute(statement)).all():
                found.setdefault(user_id, []).append(token)
            return found

        return await self.user.run(caller_id, "devices", work)


def with_participant(call: CallRecord, participant: Participant) -> CallRecord:
    others = [p for p in call.participants if p.user_id != participant.user_id]
    return replace(call, participants=(*others, participant))
