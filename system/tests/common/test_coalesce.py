"""Concurrent calls sent as one: shares in order, the cancelled left out, failures to
their own batch; and the rate-limit counters over real Redis, exact under concurrency."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from secureconnect.common.clock import ManualClock
from secureconnect.common.coalesce import Coalescer
from secureconnect.common.resilient_redis import ResilientRedis
from secureconnect.common.settings import RedisSettings

from harness.platform.base import Platform
from tests.stores import settings_for

CONCURRENT = 50


class Doubler:
    """A send whose calls are seen: doubles each item, after a loop turn or two."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.fail_on = fail_on

    async def __call__(self, items: list[int]) -> list[int]:
        self.batches.append(items)
        await asyncio.sleep(0)
        if self.fail_on in items:
            raise ValueError(f"refused {self.fail_on}")
        return [2 * item for item in items]


async def test_concurrent_calls_share_one_send_and_get_their_own_share() -> None:
    send = Doubler()
    coalescer = Coalescer(send, "test")
    try:
        results = await asyncio.gather(*(coalescer.submit([n, n + 1000]) for n in range(20)))
    finally:
        await coalescer.close()
    assert results == [[2 * n, 2 * (n + 1000)] for n in range(20)]
    assert len(send.batches) < 20 and coalescer.calls == len(send.batches)


async def test_a_caller_cancelled_before_its_batch_is_left_out() -> None:
    send = Doubler()
    coalescer = Coalescer(send, "test")
    try:
        first = asyncio.ensure_future(coalescer.submit([1]))
        await asyncio.sleep(0)  # the first batch is out
        late = asyncio.ensure_future(coalescer.submit([2]))
        kept = asyncio.ensure_future(coalescer.submit([3]))
        await asyncio.sleep(0)
        late.cancel()
        assert await first == [2] and await kept == [6]
    finally:
        await coalescer.close()
    assert [2] not in send.batches and [3] in send.batches


async def test_a_failed_call_fails_its_batch_only() -> None:
    send = Doubler(fail_on=7)
    coalescer = Coalescer(send, "test")
    try:
        with pytest.raises(ValueError, match="refused 7"):
            await coalescer.submit([7])
        assert await coalescer.submit([8]) == [16]  # the sender goes on
    finally:
        await coalescer.close()


async def test_concurrent_rate_limit_counts_are_exact_over_redis(stack: Platform) -> None:
    redis = ResilientRedis(RedisSettings(**settings_for(stack)), "unit-coalesce", ManualClock())
    await redis.start()
    key = f"unit-coalesce:{uuid.uuid4().hex}"
    try:
        counts = await asyncio.gather(
            *(redis.incr_many([(key, 60.0), (f"{key}:{n}", 60.0)]) for n in range(CONCURRENT))
        )
    finally:
        await redis.stop()
    assert not redis.degraded
    assert sorted(shared for shared, _ in counts) == list(range(1, CONCURRENT + 1))
    assert {own for _, own in counts} == {1}
    assert redis.counters.calls < CONCURRENT  # the round trips were shared
