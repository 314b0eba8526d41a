"""The rules of calls: who may place, see, join, leave and end one; what
everyone hears about it; when an unanswered call gives up.

The state machine itself is in lifecycle.py. Here: a call is placed in a
conversation by one of its members and rings the others (`call.incoming` on
their sockets, and a push notification); every change is announced to all
participants as `call.updated` (both through chat's event bus, common/bus.py:
notifications, never the record, so a failure is counted and logged, never
raised here; a client that missed one reads the call); a call still ringing RING_TIMEOUT_S after it
was placed ends as unanswered — the sweeper looks every RING_SWEEP_INTERVAL_S,
and a join that arrives after the deadline ends it too, so the rule holds by
the injected clock even between sweeps. Anyone outside the call gets 404.

Listeners (the SFU, the signaling hub, the recorder) hear about every change
after it is committed, to close peer connections and sockets of those who
left and everything of a call that ended.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from secureconnect.common.bus import CALL_INCOMING, CALL_UPDATED, BusPublisher
from secureconnect.common.clock import Clock
from secureconnect.common.errors import DomainError
from secureconnect.video import lifecycle
from secureconnect.video.lifecycle import ACTIVE, ENDED, INVITED, JOINED, RINGING
from secureconnect.video.metrics import CALL_TRANSITIONS, CALLS_ACTIVE, CALLS_RINGING
from secureconnect.video.push import IncomingCallPush, PushDispatcher
from secureconnect.video.recording import CallRecorder
from secureconnect.video.schemas import call_event
from secureconnect.video.store import (
    CallRecord,
    CallStore,
    Decision,
    Participant,
    Recording,
    call_not_found,
    utc,
)
from secureconnect.video.turn import TurnCredential, TurnCredentials

log = logging.getLogger(__name__)

#: How often the sweeper ends calls past their ring deadline, seconds.
RING_SWEEP_INTERVAL_S = 1.0
#: Calls ended per sweep at most (the rest wait for the next one).
EXPIRE_BATCH = 100
#: Most joined participants of a peer-to-peer (mesh) call.
P2P_ROOM_LIMIT = 4
#: Most joined participants of an SFU call (the SFU forwards n·(n-1) tracks).
SFU_ROOM_LIMIT = 10
ROOM_LIMITS = {"p2p": P2P_ROOM_LIMIT, "sfu": SFU_ROOM_LIMIT}
#: Lifetime of a recording's download URL, seconds.
RECORDING_URL_TTL_S = 15 * 60


@dataclass(frozen=True)
class RecordingLink:
    """A recording, and a URL that downloads it for `expires_in` seconds."""

    recording: Recording
    url: str
    expires_in: int


class CallListener(Protocol):
    async def call_changed(self, before: CallRecord, after: CallRecord) -> None: ...


class CallService:
    def __init__(
        self,
        store: CallStore,
        events: BusPublisher,
        push: PushDispatcher,
        turn: TurnCredentials,
        recorder: CallRecorder,
        clock: Clock,
        ring_timeout_s: float,
        service: str = "video",
    ) -> None:
        self.store = store
        self.events = events
        self.push = push
        self.turn = turn
        self.recorder = recorder
        self.clock = clock
        self.ring_timeout_s = ring_timeout_s
        self.service = service
        self.listeners: list[CallListener] = []

    # -- requests ------------------------------------------------------------

    async def initiate(
        self, user: uuid.UUID, conversation_id: uuid.UUID, media: str, mode: str, record: bool
    ) -> CallRecord:
        if record and mode != "sfu":
            raise DomainError(
                422, "recording_needs_sfu", "only calls in mode 'sfu' can be recorded"
            )
        members = await self.store.conversation_members(user, conversation_id)
        if members is None or user not in members:
            raise DomainError(404, "conversation_not_found", "no such conversation")
        if len(members) < 2:
            raise DomainError(422, "nobody_to_call", "the conversation has no one else to call")
        now = utc(self.clock.now())
        call = CallRecord(
            id=uuid.uuid4(),
            conversation_id=conversation_id,
            initiator_id=user,
            media=media,
            mode=mode,
            state=RINGING,
            record=record,
            created_at=now,
            ring_deadline=now + timedelta(seconds=self.ring_timeout_s),
            participants=tuple(
                Participant(m, JOINED, joined_at=now) if m == user else Participant(m, INVITED)
                for m in members
            ),
        )
        await self.store.create(call)
        CALL_TRANSITIONS.labels(self.service, RINGING, "placed").inc()
        invitees = [m for m in members if m != user]
        await self.events.publish(CALL_INCOMING, call_event(call), invitees)
        await self._ring(call, invitees)
        await self.refresh_gauges()
        return call

    async def get(self, user: uuid.UUID, call_id: uuid.UUID) -> CallRecord:
        call = await self.store.get(user, call_id)
        if call is None:
            raise call_not_found()
        lifecycle.participant_of(call, user)
        return call

    async def join(self, user: uuid.UUID, call_id: uuid.UUID) -> CallRecord:
        now = utc(self.clock.now())
        after = await self._change(
            user,
            call_id,
            lambda c: lifecycle.join(c, user, now, ROOM_LIMITS.get(c.mode, P2P_ROOM_LIMIT)),
        )
        if after.state == ENDED:  # it was past its ring deadline: now it is ended
            raise lifecycle.call_ended_error()
        return after

    async def leave(self, user: uuid.UUID, call_id: uuid.UUID) -> CallRecord:
        now = utc(self.clock.now())
        return await self._change(user, call_id, lambda c: lifecycle.leave(c, user, now))

    async def end(self, user: uuid.UUID, call_id: uuid.UUID) -> CallRecord:
        now = utc(self.clock.now())
        return await self._change(user, call_id, lambda c: lifecycle.end(c, user, now))

    def turn_credential(self, user: uuid.UUID) -> TurnCredential:
        """Credentials for the TURN relay, minted for the user (no call needed)."""
        return self.turn.issue(user)

    async def recordings(self, user: uuid.UUID, call_id: uuid.UUID) -> list[RecordingLink]:
        await self.get(user, call_id)  # participants only (404 for anyone else)
        found = await self.store.recordings(user, call_id)
        ttl_s = RECORDING_URL_TTL_S
        return [RecordingLink(r, self.recorder.presign(r, ttl_s), ttl_s) for r in found]

    async def signaling_call(self, user: uuid.UUID, call_id: uuid.UUID) -> CallRecord:
        """The call whose signaling `user` may use: theirs, not ended, and joined."""
        call = await self.get(user, call_id)
        if call.state == ENDED:
            raise lifecycle.call_ended_error()
        if lifecycle.participant_of(call, user).status != JOINED:
            raise DomainError(409, "not_joined", "join the call before signaling in it")
        return call

    # -- ring timeout ----------------------------------------------------------

    async def expire_unanswered(self) -> list[CallRecord]:
        """End every call past its ring deadline (by the clock); the calls ended."""
        now = utc(self.clock.now())
        expired = []
        for call_id in await self.store.due_to_expire(now, EXPIRE_BATCH):
            changed = await self.store.expire(call_id, lambda c: lifecycle.expire(c, now))
            if changed is None:  # answered or ended since the sweep found it
                continue
            before, after = changed
            if after != before:
                await self._announce(before, after)
            if after.state == ENDED:
                expired.append(after)
        return expired

    async def sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(RING_SWEEP_INTERVAL_S)  # a period, not a wait for a condition
            try:
                await self.expire_unanswered()
                await self.refresh_gauges()
            except DomainError as exc:  # the database is away; the next sweep tries again
                log.warning("ring sweep failed", extra={"error": exc.code})

    async def refresh_gauges(self) -> None:
        counts = await self.store.live_counts()
        CALLS_ACTIVE.labels(self.service).set(counts.get(ACTIVE, 0))
        CALLS_RINGING.labels(self.service).set(counts.get(RINGING, 0))

    # -- internals ---------------------------------------------------------------

    async def _change(self, user: uuid.UUID, call_id: uuid.UUID, decide: Decision) -> CallRecord:
        before, after = await self.store.change(user, call_id, decide)
        if after != before:
            await self._announce(before, after)
        return after

    async def _announce(self, before: CallRecord, after: CallRecord) -> None:
        if after.state != before.state:
            CALL_TRANSITIONS.labels(self.service, after.state, after.end_reason or "-").inc()
            await self.refresh_gauges()
        await self.events.publish(CALL_UPDATED, call_event(after), after.user_ids)
        for listener in self.listeners:
            try:
                await listener.call_changed(before, after)
            except Exception:  # one listener's failure must not hide the change from others
                log.exception("call listener failed", extra={"call_id": str(after.id)})

    async def _ring(self, call: CallRecord, invitees: Sequence[uuid.UUID]) -> None:
        devices = await self.store.devices(call.initiator_id, invitees)
        self.push.submit(
            [
                IncomingCallPush(
                    push_id=uuid.uuid4().hex,
                    user_id=invitee,
                    call_id=call.id,
                    conversation_id=call.conversation_id,
                    caller_id=call.initiator_id,
                    media=call.media,
                    devices=tuple(devices.get(invitee, ())),
                )
                for invitee in invitees
            ]
        )

    async def register_device(self, user: uuid.UUID, token: str, platform: str) -> None:
        await self.store.add_device(user, token, platform)

    async def forget_device(self, push: IncomingCallPush, token: str) -> None:
        await self.store.remove_device(push.user_id, token)
