"""Degraded-mode state machine, the memory fallback and write-back bookkeeping."""

from __future__ import annotations

import uuid

import pytest
from secureconnect.common.clock import ManualClock
from secureconnect.common.memory_store import MemoryStore
from secureconnect.common.metrics import REDIS_DEGRADED
from secureconnect.common.resilient_redis import (
    FAILURES_TO_DEGRADE,
    SUCCESSES_TO_RECOVER,
    DegradedModeMachine,
    RedisState,
    ResilientRedis,
)
from secureconnect.common.settings import RedisSettings

from harness.platform.base import Platform
from harness.platform.ports import free_port
from tests.stores import redis_client, settings_for


def test_machine_degrades_after_consecutive_failures():
    clock = ManualClock()
    machine = DegradedModeMachine(clock)
    for _ in range(FAILURES_TO_DEGRADE - 1):
        assert machine.record_failure() is False
    assert machine.record_success() is False  # a success resets the count
    transitions = [machine.record_failure() for _ in range(FAILURES_TO_DEGRADE)]
    assert transitions[-1] is True and machine.state is RedisState.DEGRADED
    clock.advance(3)
    assert machine.record_failure() is False  # already degraded: no second transition
    assert machine.since == pytest.approx(clock.monotonic() - 3)


def test_machine_recovers_only_after_consecutive_successes():
    machine = DegradedModeMachine(ManualClock())
    for _ in range(FAILURES_TO_DEGRADE):
        machine.record_failure()
    results = [machine.record_success() for _ in range(SUCCESSES_TO_RECOVER)]
    assert results[-1] is True and not any(results[:-1])
    assert machine.state is RedisState.DEGRADED  # until write-back is done
    machine.recovered()
    assert machine.state is RedisState.HEALTHY


def test_memory_store_ttl_and_pending_bookkeeping():
    clock = ManualClock()
    store = MemoryStore(clock=clock)
    store.set("a", "1", ttl_s=10, pending=True)
    store.delete("b", pending=True)
    assert store.pending_sets == {"a"} and store.pending_deletes == {"b"}
    clock.advance(9.5)
    assert store.get("a") == "1" and store.ttl("a") == pytest.approx(0.5)
    clock.advance(0.5)
    assert store.get("a") is None
    store.set("b", "2", ttl_s=None, pending=True)
    assert "b" not in store.pending_deletes


def test_memory_counters_start_their_window_on_first_hit():
    clock = ManualClock()
    store = MemoryStore(clock=clock)
    assert [store.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    clock.advance(60)
    assert store.incr("k", 60) == 1


def test_memory_store_is_bounded():
    store = MemoryStore(clock=ManualClock(), max_entries=3)
    for i in range(5):
        store.set(f"k{i}", "v", ttl_s=None, pending=True)
    assert len(store) == 3 and store.get("k0") is None and store.get("k4") == "v"
    assert store.pending_sets == {"k2", "k3", "k4"}


async def test_unreachable_redis_degrades_and_serves_from_memory():
    settings = RedisSettings(redis_port=free_port())  # nothing listens there
    redis = ResilientRedis(settings, "unit-degraded", ManualClock())
    try:
        await redis.set("session", "alive", ttl_s=60)  # fails over to memory, marked pending
        for _ in range(FAILURES_TO_DEGRADE):
            await redis.check_once()
        assert redis.degraded
        assert REDIS_DEGRADED.labels("unit-degraded")._value.get() == 1
        assert await redis.get("session") == "alive"
        assert await redis.set_if_absent("once", "1", 60) is True
        assert await redis.set_if_absent("once", "1", 60) is False
        assert await redis.incr_many([("c", 60), ("c", 60)]) == [1, 2]
        assert await redis.exists_any(["nope", "once"]) is True
        assert {"session", "once"} <= redis.memory.pending_sets
    finally:
        await redis.stop()


async def test_recovery_writes_back_and_refills_an_emptied_redis(stack: Platform):
    settings = RedisSettings(**settings_for(stack))
    redis = ResilientRedis(settings, "unit-recovery", ManualClock())
    raw = redis_client(stack)
    before, during, gone = (f"unit-recovery:{uuid.uuid4().hex}:{k}" for k in ("b", "d", "g"))
    hook_calls: list[str] = []

    async def hook(_: ResilientRedis) -> None:
        hook_calls.append("called")

    redis.on_recovery(hook)
    try:
        await redis.start()
        await redis.set(before, "kept", ttl_s=60)  # healthy: Redis + memory mirror
        for _ in range(FAILURES_TO_DEGRADE):
            redis.machine.record_failure()
        await redis.set(during, "queued", ttl_s=60)  # degraded: memory only, pending
        await redis.delete(gone)
        await raw.set(gone, "x")
        # As if Redis had restarted without persistence; the stack's Redis is shared,
        # so only this test's own keys go.
        await raw.delete(before, during, gone)
        await raw.set(gone, "stale")
        for _ in range(SUCCESSES_TO_RECOVER):
            await redis.check_once()
        assert not redis.degraded and hook_calls
        assert await raw.get(during) == "queued"
        assert await raw.get(before) == "kept"
        assert await raw.get(gone) is None
        assert 0 < await raw.pttl(during) <= 60_000
    finally:
        await raw.aclose()
        await redis.stop()
