"""The gateway's rate-limit counters: exact for a lone instance with no round trip per
request, added up across instances through the stack's Redis, kept while Redis cannot
be asked and sent once it can."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from secureconnect.common.clock import ManualClock
from secureconnect.common.errors import DomainError
from secureconnect.common.ratelimit import RateLimit, RateLimiter
from secureconnect.common.resilient_redis import FAILURES_TO_DEGRADE, ResilientRedis
from secureconnect.common.settings import RedisSettings
from secureconnect.gateway.counters import SyncedCounters

from harness.platform.base import Platform
from tests.stores import redis_client, settings_for

WINDOW_S = 60.0
SYNC_DEADLINE_S = 5.0


def _settings(stack: Platform) -> RedisSettings:
    fields = settings_for(stack)
    return RedisSettings(**{k: v for k, v in fields.items() if k.startswith("redis_")})


@pytest.fixture
async def redis(stack: Platform) -> AsyncIterator[ResilientRedis]:
    client = ResilientRedis(_settings(stack), "unit-counters")
    await client.start()
    yield client
    await client.stop()


def _degrade(redis: ResilientRedis) -> None:
    for _ in range(FAILURES_TO_DEGRADE):
        redis.machine.record_failure()


def _key() -> str:
    return f"rl:unit:{uuid.uuid4().hex}:0"


async def test_a_lone_instance_cuts_at_the_limit_without_redis(redis: ResilientRedis) -> None:
    _degrade(redis)
    clock = ManualClock(start=6000.0)
    counters = SyncedCounters(redis, clock)
    limiter = RateLimiter(redis, "unit-counters", clock, counters)
    limit = RateLimit(f"unit-{uuid.uuid4().hex}", 3, WINDOW_S)
    for _ in range(3):
        await limiter.hit([(limit, "a")])
    with pytest.raises(DomainError) as refused:
        await limiter.hit([(limit, "a")])
    assert refused.value.status == 429
    await limiter.hit([(limit, "b")])
    await counters.close()


async def test_instances_see_each_others_counts_after_a_sync(
    stack: Platform, redis: ResilientRedis
) -> None:
    key = _key()
    first, second = SyncedCounters(redis), SyncedCounters(redis)
    for _ in range(3):
        await first.incr_many([(key, WINDOW_S)])
    for _ in range(2):
        await second.incr_many([(key, WINDOW_S)])
    await first.sync()
    await second.sync()
    await first.sync()  # nothing unsent: asks nothing, keeps its total
    assert await first.incr_many([(key, WINDOW_S)]) == [4]
    assert await second.incr_many([(key, WINDOW_S)]) == [6]
    await first.close()
    await second.close()
    store = redis_client(stack)
    try:
        assert await store.get(key) == "7"
        assert 0 < await store.ttl(key) <= WINDOW_S
    finally:
        await store.aclose()


async def test_counts_are_sent_in_the_background(stack: Platform, redis: ResilientRedis) -> None:
    key = _key()
    counters = SyncedCounters(redis)
    store = redis_client(stack)
    try:
        for _ in range(5):
            await counters.incr_many([(key, WINDOW_S)])

        for _ in range(int(SYNC_DEADLINE_S / counters.interval_s)):
            if await store.get(key) == "5":
                break
            await asyncio.sleep(counters.interval_s)  # the sync's own period
        assert await store.get(key) == "5", "the counts never reached Redis"
    finally:
        await counters.close()
        await store.aclose()


async def test_counts_wait_out_an_outage(stack: Platform, redis: ResilientRedis) -> None:
    key = _key()
    counters = SyncedCounters(redis)
    _degrade(redis)
    await counters.incr_many([(key, WINDOW_S)])
    await counters.incr_many([(key, WINDOW_S)])
    await counters.sync()
    assert counters.windows[key].unsent == 2
    redis.machine.recovered()
    await counters.sync()
    store = redis_client(stack)
    try:
        assert await store.get(key) == "2"
    finally:
        await counters.close()
        await store.aclose()


async def test_ended_windows_are_forgotten(redis: ResilientRedis) -> None:
    _degrade(redis)
    clock = ManualClock()
    counters = SyncedCounters(redis, clock)
    await counters.incr_many([("rl:unit:old:0", WINDOW_S)])
    clock.advance(WINDOW_S)
    await counters.sync()
    assert counters.windows == {}
    await counters.close()
