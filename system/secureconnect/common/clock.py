"""Injectable time.

Everything that expires (tokens, rate-limit windows, fallback entries,
degraded-mode transitions) asks a `Clock` instead of the `time` module, so
tests move time forward instead of sleeping.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Wall-clock time, seconds since the epoch (for expiries that leave the process)."""
        ...

    def monotonic(self) -> float:
        """Monotonic seconds (for durations and in-process windows)."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock that only moves when told to; for tests."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._monotonic = 0.0

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        self._now += seconds
        self._monotonic += seconds


SYSTEM_CLOCK = SystemClock()
