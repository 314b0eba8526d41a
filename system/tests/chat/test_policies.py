"""The time- and size-based policies, moved by a manual clock instead of
waiting: typing expiry, idle and token-expiry drops, slow consumers, client
frame floods, envelope and service-token checks. No stack needed."""

from __future__ import annotations

import json
import uuid

import pytest
from secureconnect.chat.fanout import parse_envelope
from secureconnect.chat.hub import (
    CLIENT_FRAMES_PER_S,
    CLOSE_IDLE_TIMEOUT,
    CLOSE_SLOW_CONSUMER,
    CLOSE_UNAUTHORIZED,
    IDLE_TIMEOUT_S,
    SEND_QUEUE_LIMIT,
    Connection,
    ConnectionHub,
    Frame,
)
from secureconnect.chat.typing_indicator import TYPING_TIMEOUT_S, TypingTracker
from secureconnect.common.clock import ManualClock
from secureconnect.common.errors import DomainError
from secureconnect.common.service_tokens import (
    SERVICE_TOKEN_TTL_S,
    issue_service_token,
    verify_service_token,
)
from secureconnect.common.tokens import TokenCodec

KEY = "k" * 48
CONVERSATION, ALICE, BOB = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def test_typing_expires_after_the_timeout_and_renews_on_each_signal():
    clock = ManualClock()
    tracker = TypingTracker(clock)
    tracker.start(CONVERSATION, ALICE, {ALICE, BOB})
    clock.advance(TYPING_TIMEOUT_S - 1)
    tracker.start(CONVERSATION, ALICE, {ALICE, BOB})  # a further signal extends it
    clock.advance(TYPING_TIMEOUT_S - 1)
    assert tracker.expire() == [] and tracker.is_typing(CONVERSATION, ALICE)
    clock.advance(1)
    assert tracker.expire() == [((CONVERSATION, ALICE), frozenset({ALICE, BOB}))]
    assert not tracker.is_typing(CONVERSATION, ALICE)
    assert tracker.stop(CONVERSATION, ALICE) is None


def connection(clock: ManualClock, token_ttl_s: float = 900) -> Connection:
    return Connection(ALICE, clock.now() + token_ttl_s, clock.monotonic())


async def test_idle_and_expired_connections_are_dropped_by_the_sweep():
    clock = ManualClock()
    hub = ConnectionHub(clock, "chat-test")
    chatty, silent = connection(clock), connection(clock)
    short_lived = Connection(BOB, clock.now() + 10, clock.monotonic())
    for c in (chatty, silent, short_lived):
        hub.add(c)
    clock.advance(IDLE_TIMEOUT_S - 1)
    chatty.heard(clock.monotonic())
    hub.sweep()
    assert short_lived.close_with is not None and short_lived.close_with[0] == CLOSE_UNAUTHORIZED
    assert chatty.close_with is None and silent.close_with is None
    clock.advance(2)
    hub.sweep()
    assert silent.close_with is not None and silent.close_with[0] == CLOSE_IDLE_TIMEOUT
    assert chatty.close_with is None


async def test_a_slow_consumer_is_dropped_and_the_others_keep_receiving():
    clock = ManualClock()
    hub = ConnectionHub(clock, "chat-test")
    slow, fast = connection(clock), Connection(BOB, clock.now() + 900, clock.monotonic())
    hub.add(slow)
    hub.add(fast)
    for index in range(SEND_QUEUE_LIMIT + 10):
        hub.deliver([ALICE, BOB], Frame(f"event {index}", clock.now(), "local"))
        fast.queue.get_nowait()  # the fast client keeps up
    assert slow.close_with is not None and slow.close_with[0] == CLOSE_SLOW_CONSUMER
    assert slow.dropped.is_set() and slow.queue.qsize() == SEND_QUEUE_LIMIT
    assert fast.close_with is None


async def test_a_client_flooding_frames_is_refused():
    clock = ManualClock()
    client = connection(clock)
    assert all(client.heard(clock.monotonic()) for _ in range(CLIENT_FRAMES_PER_S))
    assert not client.heard(clock.monotonic())
    clock.advance(1)
    assert client.heard(clock.monotonic())


@pytest.mark.parametrize(
    "envelope",
    [
        "not json",
        json.dumps({"origin": "x", "type": "message.new", "data": {}}),
        json.dumps({"origin": "x", "type": "rm -rf", "data": {}, "recipients": []}),
        json.dumps({"origin": "x", "type": "typing", "data": [], "recipients": []}),
        json.dumps({"origin": "x", "type": "typing", "data": {}, "recipients": ["nope"]}),
    ],
)
def test_malformed_envelopes_are_rejected(envelope: str):
    with pytest.raises(ValueError):
        parse_envelope(envelope)


def test_service_tokens_and_user_tokens_are_not_interchangeable():
    clock = ManualClock()
    service_token = issue_service_token(KEY, "video", clock)
    assert verify_service_token(KEY, service_token, clock) == "video"
    user_token, _ = TokenCodec(KEY, clock).issue_access(str(ALICE), "session")
    with pytest.raises(DomainError):
        verify_service_token(KEY, user_token, clock)
    with pytest.raises(DomainError):
        TokenCodec(KEY, clock).decode_access(service_token)
    clock.advance(SERVICE_TOKEN_TTL_S)
    with pytest.raises(DomainError):
        verify_service_token(KEY, service_token, clock)
