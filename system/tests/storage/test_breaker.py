"""The circuit breaker, driven by a manual clock: open, refuse, half-open trial, close."""

from __future__ import annotations

import pytest
from secureconnect.common.breaker import BreakerOpen, BreakerState, CircuitBreaker
from secureconnect.common.clock import ManualClock
from secureconnect.common.s3 import S3_BREAKER_FAILURES, S3_BREAKER_RESET_S


def opened(clock: ManualClock, transitions: list[tuple[str, str]]) -> CircuitBreaker:
    breaker = CircuitBreaker(
        S3_BREAKER_FAILURES,
        S3_BREAKER_RESET_S,
        clock,
        lambda old, new: transitions.append((str(old), str(new))),
    )
    for _ in range(S3_BREAKER_FAILURES):
        breaker.before_call()
        breaker.record_failure()
    return breaker


def test_opens_after_consecutive_failures_only() -> None:
    breaker = CircuitBreaker(S3_BREAKER_FAILURES, S3_BREAKER_RESET_S, ManualClock())
    for _ in range(S3_BREAKER_FAILURES - 1):
        breaker.record_failure()
    breaker.record_success()  # a success in between resets the count
    for _ in range(S3_BREAKER_FAILURES - 1):
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and breaker.is_open


def test_refuses_while_open_then_lets_one_trial_through() -> None:
    clock, transitions = ManualClock(), []
    breaker = opened(clock, transitions)
    with pytest.raises(BreakerOpen) as refused:
        breaker.before_call()
    assert refused.value.retry_after_s == pytest.approx(S3_BREAKER_RESET_S)
    clock.advance(S3_BREAKER_RESET_S)
    assert not breaker.is_open  # due for a trial
    breaker.before_call()  # the trial
    assert breaker.state is BreakerState.HALF_OPEN
    with pytest.raises(BreakerOpen):
        breaker.before_call()  # only one trial at a time
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    breaker.before_call()
    assert transitions == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]


def test_a_failed_trial_opens_again_for_a_full_period() -> None:
    clock, transitions = ManualClock(), []
    breaker = opened(clock, transitions)
    clock.advance(S3_BREAKER_RESET_S)
    breaker.before_call()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    clock.advance(S3_BREAKER_RESET_S / 2)
    with pytest.raises(BreakerOpen):
        breaker.before_call()
    assert transitions[-1] == ("half_open", "open")


def test_an_abandoned_trial_does_not_block_forever() -> None:
    clock = ManualClock()
    breaker = opened(clock, [])
    clock.advance(S3_BREAKER_RESET_S)
    breaker.before_call()
    breaker.record_abandoned()  # cancelled: no verdict
    breaker.before_call()  # another trial may go
    assert breaker.state is BreakerState.HALF_OPEN


def test_trip_opens_at_once_and_keeps_its_period() -> None:
    clock, transitions = ManualClock(), []
    breaker = CircuitBreaker(
        S3_BREAKER_FAILURES,
        S3_BREAKER_RESET_S,
        clock,
        lambda old, new: transitions.append((str(old), str(new))),
    )
    breaker.trip()
    assert breaker.state is BreakerState.OPEN and breaker.is_open
    clock.advance(S3_BREAKER_RESET_S - 1)
    breaker.trip()  # already open: the period is not extended
    clock.advance(1)
    breaker.before_call()
    assert breaker.state is BreakerState.HALF_OPEN
    assert transitions == [("closed", "open"), ("open", "half_open")]
