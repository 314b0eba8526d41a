"""Fixed windows: counting, refusal with retry_after, reset at the window edge."""

from __future__ import annotations

import pytest
from secureconnect.common.clock import ManualClock
from secureconnect.common.errors import DomainError
from secureconnect.common.ratelimit import RateLimit, RateLimiter
from secureconnect.common.resilient_redis import FAILURES_TO_DEGRADE, ResilientRedis
from secureconnect.common.settings import RedisSettings

from harness.platform.ports import free_port


def test_window_key_and_reset():
    limit = RateLimit("x", 3, 60)
    key, reset_in = limit.window("alice", now=125.0)
    assert key == "rl:x:alice:2" and reset_in == pytest.approx(55.0)


@pytest.fixture
async def limiter_and_clock():
    clock = ManualClock(start=6000.0)  # a window boundary
    redis = ResilientRedis(RedisSettings(redis_port=free_port()), "unit-rl", clock)
    for _ in range(FAILURES_TO_DEGRADE):
        redis.machine.record_failure()  # serve from memory without touching the network
    yield RateLimiter(redis, "unit-rl", clock), clock
    await redis.stop()


async def test_limit_then_refuse_then_reset(limiter_and_clock):
    limiter, clock = limiter_and_clock
    limit = RateLimit("login", 2, 60)
    await limiter.hit([(limit, "a")])
    await limiter.hit([(limit, "a")])
    clock.advance(15)
    with pytest.raises(DomainError) as caught:
        await limiter.hit([(limit, "a")])
    assert caught.value.status == 429 and caught.value.retry_after == pytest.approx(45)
    await limiter.hit([(limit, "b")])  # other subjects are independent
    clock.advance(45)
    await limiter.hit([(limit, "a")])


async def test_check_counts_nothing(limiter_and_clock):
    limiter, _ = limiter_and_clock
    limit = RateLimit("failures", 1, 60)
    await limiter.check([(limit, "a")])
    await limiter.check([(limit, "a")])
    await limiter.count([(limit, "a")])
    with pytest.raises(DomainError):
        await limiter.check([(limit, "a")])
