"""The call state machine, as pure decisions: (call, who, when) → the call after.

    ringing ──(an invitee joins)──▶ active ──(the last one leaves / end)──▶ ended
    ringing ──(RING_TIMEOUT_S without an answer)──▶ ended (unanswered)
    ringing ──(the caller leaves)──▶ ended (cancelled)
    ringing ──(every invitee declined, i.e. left without joining)──▶ ended (declined)

The initiator is joined from the start. A call ends when nobody is joined any
more; ending it marks everyone still joined as left. Leaving or ending an
ended call changes nothing (idempotent); joining one is refused (409).
No I/O here: the store runs these inside the transaction that locked the call.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

from secureconnect.common.errors import DomainError
from secureconnect.video.store import CallRecord, Participant, call_not_found, with_participant

RINGING, ACTIVE, ENDED = "ringing", "active", "ended"
INVITED, JOINED, LEFT = "invited", "joined", "left"


def call_ended_error() -> DomainError:
    return DomainError(409, "call_ended", "the call has ended; start a new call to talk again")


def participant_of(call: CallRecord, user_id: uuid.UUID) -> Participant:
    """The user's place in the call; 404 (never 403) for anyone else, so ids leak nothing."""
    participant = call.participant(user_id)
    if participant is None:
        raise call_not_found()
    return participant


def ended(call: CallRecord, now: datetime, reason: str) -> CallRecord:
    if call.state == ENDED:
        return call
    participants = tuple(
        replace(p, status=LEFT, left_at=now) if p.status == JOINED else p for p in call.participants
    )
    return replace(call, state=ENDED, ended_at=now, end_reason=reason, participants=participants)


def ring_expired(call: CallRecord, now: datetime) -> bool:
    return call.state == RINGING and now >= call.ring_deadline


def expire(call: CallRecord, now: datetime) -> CallRecord:
    return ended(call, now, "unanswered") if ring_expired(call, now) else call


def join(call: CallRecord, user_id: uuid.UUID, now: datetime, room_limit: int) -> CallRecord:
    """The call with `user_id` joined; an expired ringing call comes back ended (the
    caller then refuses the join, after the ending is written)."""
    participant = participant_of(call, user_id)
    if call.state == ENDED:
        raise call_ended_error()
    if ring_expired(call, now):
        return expire(call, now)
    if participant.status == JOINED:
        return call
    if len(call.joined) >= room_limit:
        raise DomainError(
            409, "call_full", f"the call already has {room_limit} participants, its limit"
        )
    call = with_participant(call, replace(participant, status=JOINED, joined_at=now, left_at=None))
    if call.state == RINGING and user_id != call.initiator_id:
        call = replace(call, state=ACTIVE, answered_at=now)
    return call


def leave(call: CallRecord, user_id: uuid.UUID, now: datetime) -> CallRecord:
    participant = participant_of(call, user_id)
    if call.state == ENDED or participant.status == LEFT:
        return call
    call = with_participant(call, replace(participant, status=LEFT, left_at=now))
    if call.joined:
        if call.state == RINGING and not any(p.status == INVITED for p in call.participants):
            return ended(call, now, "declined")
        return call
    return ended(call, now, "completed" if call.state == ACTIVE else "cancelled")


def end(call: CallRecord, user_id: uuid.UUID, now: datetime) -> CallRecord:
    participant_of(call, user_id)
    return ended(call, now, "ended")
