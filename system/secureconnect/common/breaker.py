"""A circuit breaker for one dependency, on the event loop, with an injectable clock.

    closed ──(failure_threshold consecutive failures)──▶ open
    open ──(reset_timeout_s elapsed, next call)──▶ half-open
    half-open: one trial call goes through; success → closed, failure → open

While open, and while a half-open trial is in flight, `before_call` refuses
at once with `BreakerOpen` (nothing touches the network), so callers answer
fast instead of queueing behind a dead dependency. A failure here is a whole
logical operation that failed after its retries, not a single attempt, so
a flaky-but-working dependency does not trip the breaker. `trip` opens it at
once, for a caller that knows the dependency is down (nothing listens).

Why not pybreaker: its `call` holds one lock for the whole duration of every
call, which would serialise all S3 traffic of a process behind the slowest
request, and its timing reads the wall clock directly. Here the state is
only touched on the event loop, between calls, and time comes from a `Clock`.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from secureconnect.common.clock import SYSTEM_CLOCK, Clock


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class BreakerOpen(Exception):
    """The call was refused without being attempted."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"circuit open; next trial in {retry_after_s:.1f}s")
        self.retry_after_s = retry_after_s


Transition = Callable[[BreakerState, BreakerState], None]


class CircuitBreaker:
    def __init__(
        self,
        failure_threshold: int,
        reset_timeout_s: float,
        clock: Clock = SYSTEM_CLOCK,
        on_transition: Transition | None = None,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.reset_timeout_s = reset_timeout_s
        self.clock = clock
        self.on_transition = on_transition
        self.state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_started_at: float | None = None

    @property
    def is_open(self) -> bool:
        """True while calls are refused (open, or half-open with its trial in flight)."""
        try:
            self._admission()
        except BreakerOpen:
            return True
        return False

    def retry_after_s(self) -> float:
        elapsed = self.clock.monotonic() - self._opened_at
        return max(0.0, self.reset_timeout_s - elapsed)

    def before_call(self) -> None:
        """Admit a call or raise BreakerOpen; admitting in half-open starts the trial."""
        if self._admission() is BreakerState.HALF_OPEN:
            if self.state is BreakerState.OPEN:
                self._enter(BreakerState.HALF_OPEN)
            self._trial_started_at = self.clock.monotonic()

    def record_success(self) -> None:
        self._failures = 0
        self._trial_started_at = None
        if self.state is not BreakerState.CLOSED:
            self._enter(BreakerState.CLOSED)

    def record_failure(self) -> None:
        self._trial_started_at = None
        if self.state is BreakerState.HALF_OPEN:
            self._open()
            return
        self._failures += 1
        if self.state is BreakerState.CLOSED and self._failures >= self.failure_threshold:
            self._open()

    def trip(self) -> None:
        """Open now, whatever the count: the caller knows the dependency is down.
        An open breaker keeps its period (tripping again does not extend it)."""
        self._trial_started_at = None
        if self.state is not BreakerState.OPEN:
            self._open()

    def record_abandoned(self) -> None:
        """The call ended without a verdict (cancelled): free the trial slot, change nothing."""
        self._trial_started_at = None

    def _admission(self) -> BreakerState:
        """The state a call made now would run in; raises when it would be refused."""
        now = self.clock.monotonic()
        if self.state is BreakerState.CLOSED:
            return BreakerState.CLOSED
        if self.state is BreakerState.OPEN and now - self._opened_at < self.reset_timeout_s:
            raise BreakerOpen(self.retry_after_s())
        # A trial that never reported back (lost task) stops blocking after a reset period.
        trial = self._trial_started_at
        if trial is not None and now - trial < self.reset_timeout_s:
            raise BreakerOpen(self.reset_timeout_s - (now - trial))
        return BreakerState.HALF_OPEN

    def _open(self) -> None:
        self._failures = 0
        self._opened_at = self.clock.monotonic()
        self._enter(BreakerState.OPEN)

    def _enter(self, state: BreakerState) -> None:
        previous, self.state = self.state, state
        if self.on_transition is not None and previous is not state:
            self.on_transition(previous, state)
