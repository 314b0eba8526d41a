"""Fixed-window rate limits over Redis (in-memory while Redis is degraded).

A window is `window_s` long and aligned to the clock, so every instance
counting in Redis agrees on it; `retry_after` is the time left in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from secureconnect.common.clock import SYSTEM_CLOCK, Clock
from secureconnect.common.errors import DomainError
from secureconnect.common.metrics import RATE_LIMITED
from secureconnect.common.resilient_redis import ResilientRedis


@dataclass(frozen=True)
class RateLimit:
    scope: str
    limit: int
    window_s: float

    def window(self, subject: str, now: float) -> tuple[str, float]:
        """(counter key, seconds until the window resets) for `subject` at `now`."""
        index = int(now // self.window_s)
        reset_in = (index + 1) * self.window_s - now
        return f"rl:{self.scope}:{subject}:{index}", reset_in


class WindowCounters(Protocol):
    async def incr_many(self, counters: list[tuple[str, float]]) -> list[int]:
        """Count one event in each (key, ttl_s): each window's count so far."""
        ...


class RateLimiter:
    def __init__(
        self,
        redis: ResilientRedis,
        service: str,
        clock: Clock = SYSTEM_CLOCK,
        counters: WindowCounters | None = None,
    ) -> None:
        """`counters` count the hits (default: in Redis, one call per hit); `check`
        reads Redis."""
        self.redis = redis
        self.counters: WindowCounters = counters or redis
        self.service = service
        self.clock = clock

    async def hit(self, checks: list[tuple[RateLimit, str]]) -> None:
        """Count one event against each (limit, subject); 429 if any is over."""
        for limit, reset_in, count in await self.count(checks):
            if count > limit.limit:
                raise self.refusal(limit, reset_in)

    async def count(
        self, checks: list[tuple[RateLimit, str]]
    ) -> list[tuple[RateLimit, float, int]]:
        """Count one event against each (limit, subject): [(limit, reset_in, count)]."""
        now = self.clock.now()
        windows = [(limit, *limit.window(subject, now)) for limit, subject in checks]
        counts = await self.counters.incr_many([(key, limit.window_s) for limit, key, _ in windows])
        return [
            (limit, reset_in, count)
            for (limit, _, reset_in), count in zip(windows, counts, strict=True)
        ]

    async def check(self, checks: list[tuple[RateLimit, str]]) -> None:
        """429 if any (limit, subject) is already exhausted; counts nothing."""
        now = self.clock.now()
        for limit, subject in checks:
            key, reset_in = limit.window(subject, now)
            count = await self.redis.get(key)
            if count is not None and int(count) >= limit.limit:
                raise self.refusal(limit, reset_in)

    def refusal(self, limit: RateLimit, reset_in: float) -> DomainError:
        """The 429 for `limit`, retry after `reset_in` seconds (counted in the metric)."""
        RATE_LIMITED.labels(self.service, limit.scope).inc()
        return DomainError(
            429,
            "rate_limited",
            f"too many requests ({limit.scope}); retry in {reset_in:.0f}s",
            retry_after=reset_in,
        )
