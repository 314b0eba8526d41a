"""The call state machine's decisions, without I/O (lifecycle.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from secureconnect.common.errors import DomainError
from secureconnect.video import lifecycle
from secureconnect.video.settings import RING_TIMEOUT_S
from secureconnect.video.store import CallRecord, Participant

START = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
CALLER, CALLEE, THIRD = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def ringing_call(*invitees: uuid.UUID) -> CallRecord:
    return CallRecord(
        id=uuid.uuid4(),
        conversation_id=uuid.uuid4(),
        initiator_id=CALLER,
        media="video",
        mode="sfu",
        state="ringing",
        record=False,
        created_at=START,
        ring_deadline=START + timedelta(seconds=RING_TIMEOUT_S),
        participants=(
            Participant(CALLER, "joined", START),
            *(Participant(i, "invited") for i in invitees),
        ),
    )


def soon(seconds: float = 1) -> datetime:
    return START + timedelta(seconds=seconds)


def test_the_caller_hanging_up_cancels_a_ringing_call() -> None:
    call = lifecycle.leave(ringing_call(CALLEE), CALLER, soon())
    assert (call.state, call.end_reason) == ("ended", "cancelled")


def test_everyone_declining_ends_the_call_and_one_decline_does_not() -> None:
    call = lifecycle.leave(ringing_call(CALLEE, THIRD), CALLEE, soon())
    assert call.state == "ringing"
    call = lifecycle.leave(call, THIRD, soon(2))
    assert (call.state, call.end_reason) == ("ended", "declined")


def test_an_answer_makes_the_call_active_and_the_last_one_out_ends_it() -> None:
    call = lifecycle.join(ringing_call(CALLEE), CALLEE, soon(), room_limit=2)
    assert call.state == "active" and call.answered_at == soon()
    call = lifecycle.leave(call, CALLER, soon(2))
    assert call.state == "active"
    call = lifecycle.leave(call, CALLEE, soon(3))
    assert (call.state, call.end_reason, call.ended_at) == ("ended", "completed", soon(3))


def test_a_full_room_refuses_one_more() -> None:
    call = lifecycle.join(ringing_call(CALLEE, THIRD), CALLEE, soon(), room_limit=2)
    with pytest.raises(DomainError) as refused:
        lifecycle.join(call, THIRD, soon(2), room_limit=2)
    assert (refused.value.status, refused.value.code) == (409, "call_full")


def test_the_ring_deadline_is_the_boundary() -> None:
    call = ringing_call(CALLEE)
    assert lifecycle.expire(call, soon(RING_TIMEOUT_S - 0.001)) is call
    expired = lifecycle.expire(call, soon(RING_TIMEOUT_S))
    assert (expired.state, expired.end_reason) == ("ended", "unanswered")
    assert all(p.status != "joined" for p in expired.participants)
    # A join at the deadline finds the call ended (the service then refuses it).
    assert lifecycle.join(call, CALLEE, soon(RING_TIMEOUT_S), room_limit=2).state == "ended"


def test_strangers_are_not_found_and_ended_calls_stay_ended() -> None:
    call = ringing_call(CALLEE)
    with pytest.raises(DomainError) as unknown:
        lifecycle.end(call, THIRD, soon())
    assert unknown.value.status == 404
    ended = lifecycle.end(call, CALLEE, soon())
    assert lifecycle.leave(ended, CALLER, soon(2)) is ended
    assert lifecycle.end(ended, CALLER, soon(2)) is ended
    with pytest.raises(DomainError) as late:
        lifecycle.join(ended, CALLEE, soon(2), room_limit=2)
    assert late.value.code == "call_ended"
