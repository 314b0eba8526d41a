"""Redis with a degraded mode.

A background task PINGs Redis every HEALTH_CHECK_INTERVAL_S. After
FAILURES_TO_DEGRADE consecutive failures (health checks or commands) the
client is *degraded*: the `redis_degraded_mode` gauge is 1 and every
operation is served by the in-process `MemoryStore` without touching the
network. After SUCCESSES_TO_RECOVER consecutive successful checks, keys
written during the outage are written back, recovery hooks run (presence
resync, ...), and only then does the gauge return to 0.

The safe operations never raise on connection errors or timeouts: callers
get an answer from Redis or from memory, and a failed command counts as a
failed health check.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from enum import StrEnum
from typing import TypeVar

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from secureconnect.common.clock import SYSTEM_CLOCK, Clock
from secureconnect.common.coalesce import Coalescer
from secureconnect.common.memory_store import MemoryStore
from secureconnect.common.metrics import (
    REDIS_COMMAND_DURATION,
    REDIS_DEGRADED,
    REDIS_FALLBACKS,
    REDIS_HEALTH_CHECKS,
    publish_periods,
)
from secureconnect.common.settings import RedisSettings

log = logging.getLogger(__name__)

HEALTH_CHECK_INTERVAL_S = 0.5
HEALTH_CHECK_TIMEOUT_S = 0.25
COMMAND_TIMEOUT_S = 0.25
CONNECT_TIMEOUT_S = 0.25
FAILURES_TO_DEGRADE = 2
SUCCESSES_TO_RECOVER = 2
MAX_CONNECTIONS = 64
#: Keys per pipeline when writing memory back to Redis after an outage.
WRITE_BACK_BATCH = 500
WRITE_BACK_BATCH_TIMEOUT_S = 2.0

#: INCRBY each key its delta, then EXPIRE NX its TTL (ARGV: delta, ttl per key): many
#: counters in one command (a pipeline of INCR and EXPIRE per key cost several times
#: the CPU).
INCR_WITH_TTL = """
local counts = {}
for i, key in ipairs(KEYS) do
  counts[i] = redis.call('INCRBY', key, ARGV[2 * i - 1])
  redis.call('EXPIRE', key, ARGV[2 * i], 'NX')
end
return counts
"""

RecoveryHook = Callable[["ResilientRedis"], Awaitable[None]]
T = TypeVar("T")
_FAILURES = (RedisError, OSError, TimeoutError)


def _px(ttl_s: float | None) -> int | None:
    return None if ttl_s is None else max(1, int(ttl_s * 1000))


def _batches(items: list[T]) -> Iterator[list[T]]:
    for start in range(0, len(items), WRITE_BACK_BATCH):
        yield items[start : start + WRITE_BACK_BATCH]


class RedisState(StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"


class DegradedModeMachine:
    """Pure transition logic: counts consecutive results, reports transitions."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock
        self.state = RedisState.HEALTHY
        self.since = clock.monotonic()
        self._failures = 0
        self._successes = 0
        self.last_check_ok = True

    def record_failure(self) -> bool:
        """True when this failure moves the machine into DEGRADED."""
        self.last_check_ok = False
        self._successes = 0
        self._failures += 1
        if self.state is RedisState.HEALTHY and self._failures >= FAILURES_TO_DEGRADE:
            self._enter(RedisState.DEGRADED)
            return True
        return False

    def record_success(self) -> bool:
        """True when recovery is due (write-back should run, then `recovered()`)."""
        self.last_check_ok = True
        self._failures = 0
        self._successes += 1
        return self.state is RedisState.DEGRADED and self._successes >= SUCCESSES_TO_RECOVER

    def recovered(self) -> None:
        self._enter(RedisState.HEALTHY)

    def _enter(self, state: RedisState) -> None:
        self.state = state
        self.since = self.clock.monotonic()


class ResilientRedis:
    def __init__(self, settings: RedisSettings, service: str, clock: Clock = SYSTEM_CLOCK) -> None:
        password = settings.redis_password.get_secret_value() if settings.redis_password else None
        self.client = Redis(
            host=settings.redis_host,
            port=settings.redis_port,
            password=password,
            # No socket_timeout: every command runs under a timeout of ours (_call, the
            # health check, the write-back), and redis-py's own wraps each write in
            # asyncio.wait_for, a task per command (a third of its CPU per call).
            socket_connect_timeout=CONNECT_TIMEOUT_S,
            retry=Retry(NoBackoff(), 0),
            max_connections=MAX_CONNECTIONS,
            decode_responses=True,
        )
        self._incr_script = self.client.register_script(INCR_WITH_TTL)
        #: Concurrent `incr_many` calls (a request's rate limits each) share one script call.
        self.counters = Coalescer(self._incr_batch, f"redis-incr-{service}")
        self.service = service
        self.memory = MemoryStore(clock=clock)
        self.machine = DegradedModeMachine(clock)
        self._hooks: list[RecoveryHook] = []
        self._health_task: asyncio.Task[None] | None = None
        self._transition_lock = asyncio.Lock()
        REDIS_DEGRADED.labels(service).set(0)
        publish_periods(service, {"redis_health_check": HEALTH_CHECK_INTERVAL_S})

    @property
    def degraded(self) -> bool:
        return self.machine.state is RedisState.DEGRADED

    @property
    def healthy_for_s(self) -> float | None:
        """Seconds since this instance last left degraded mode (or started); None while
        degraded."""
        return None if self.degraded else self.machine.clock.monotonic() - self.machine.since

    def on_recovery(self, hook: RecoveryHook) -> None:
        self._hooks.append(hook)

    # -- lifecycle ---------------------------------------------------------
    async def start(self) -> None:
        """First check, then the hooks (e.g. reload durable state into a fresh Redis)."""
        await self.check_once()
        if not self.degraded and self.machine.last_check_ok:
            try:
                await self._run_hooks()
            except _FAILURES:
                self._failed("RESTORE")
        self._health_task = asyncio.create_task(self._health_loop(), name="redis-health")

    async def stop(self) -> None:
        await self.counters.close()
        if self._health_task is not None:
            self._health_task.cancel()
            await asyncio.gather(self._health_task, return_exceptions=True)
        await self.client.aclose()

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(HEALTH_CHECK_INTERVAL_S)  # a period, not a wait for a condition
            await self.check_once()

    async def check_once(self) -> None:
        try:
            async with asyncio.timeout(HEALTH_CHECK_TIMEOUT_S):
                await self.client.ping()
        except _FAILURES:
            REDIS_HEALTH_CHECKS.labels(self.service, "failure").inc()
            self._failed("PING")
            return
        REDIS_HEALTH_CHECKS.labels(self.service, "success").inc()
        if self.machine.record_success():
            await self._recover()

    def _failed(self, command: str) -> None:
        if self.machine.record_failure():
            REDIS_DEGRADED.labels(self.service).set(1)
            log.warning("redis unreachable: degraded mode on", extra={"command": command})

    async def _recover(self) -> None:
        async with self._transition_lock:
            if not self.degraded:
                return
            try:  # before the flip: once healthy, reads go to Redis
                await self._write_pending()
            except _FAILURES:
                self._failed("WRITE_BACK")
                return
            self.machine.recovered()
            REDIS_DEGRADED.labels(self.service).set(0)
            log.info("redis reachable again: degraded mode off")
            try:
                await self._write_pending()  # writes that raced the flip
                await self.restore(self.memory.snapshot())  # Redis may be back empty
                await self._run_hooks()
            except _FAILURES:
                self._failed("WRITE_BACK")

    async def _run_hooks(self) -> None:
        for hook in self._hooks:
            await hook(self)

    async def _write_pending(self) -> None:
        memory = self.memory
        for batch in _batches(list(memory.pending_deletes)):
            pipe = self.client.pipeline(transaction=False)
            for key in batch:
                pipe.delete(key)
            await self._execute(pipe)
            memory.pending_deletes.difference_update(batch)
        for batch in _batches(list(memory.pending_sets)):
            pipe = self.client.pipeline(transaction=False)
            for key in batch:
                value = memory.get(key)
                if value is not None:
                    pipe.set(key, value, px=_px(memory.ttl(key)))
            await self._execute(pipe)
            memory.pending_sets.difference_update(batch)

    async def restore(self, entries: list[tuple[str, str, float | None]]) -> None:
        """SET NX each (key, value, ttl_s): fills in what Redis lost, overwrites nothing."""
        for batch in _batches(entries):
            pipe = self.client.pipeline(transaction=False)
            for key, value, ttl_s in batch:
                pipe.set(key, value, px=_px(ttl_s), nx=True)
            await self._execute(pipe)

    async def _execute(self, pipe: Pipeline) -> None:
        async with asyncio.timeout(WRITE_BACK_BATCH_TIMEOUT_S):
            await pipe.execute()

    # -- safe operations ---------------------------------------------------
    async def _call(self, command: str, op: Callable[[], Awaitable[object]]) -> tuple[bool, object]:
        """(True, result) from Redis, or (False, None) when it failed or is degraded."""
        if self.degraded:
            REDIS_FALLBACKS.labels(self.service, command).inc()
            return False, None
        started = time.perf_counter()
        try:
            async with asyncio.timeout(COMMAND_TIMEOUT_S):
                result = await op()
        except _FAILURES:
            REDIS_FALLBACKS.labels(self.service, command).inc()
            self._failed(command)
            return False, None
        finally:
            REDIS_COMMAND_DURATION.labels(self.service, command).observe(
                time.perf_counter() - started
            )
        return True, result

    async def get(self, key: str) -> str | None:
        ok, value = await self._call("GET", lambda: self.client.get(key))
        if ok and value is not None:
            return str(value)
        return self.memory.get(key) if not ok else None

    async def set(self, key: str, value: str, ttl_s: float | None) -> bool:
        """Set in Redis, else in memory (written back later); True when Redis took it."""
        ok, _ = await self._call("SET", lambda: self.client.set(key, value, px=_px(ttl_s)))
        self.memory.set(key, value, ttl_s, pending=not ok)
        return ok

    async def set_if_absent(self, key: str, value: str, ttl_s: float) -> bool:
        """SET NX: True when this call created the key (atomic in Redis)."""
        ok, created = await self._call(
            "SETNX", lambda: self.client.set(key, value, px=_px(ttl_s), nx=True)
        )
        if ok:
            if created:
                self.memory.set(key, value, ttl_s)
            return bool(created)
        if self.memory.get(key) is not None:
            return False
        self.memory.set(key, value, ttl_s, pending=True)
        return True

    async def delete(self, key: str) -> None:
        ok, _ = await self._call("DEL", lambda: self.client.delete(key))
        self.memory.delete(key, pending=not ok)

    async def exists_any(self, keys: list[str]) -> bool:
        """True when any key exists in Redis or in this process's memory."""
        return bool(await self.lookup_any(keys))

    async def lookup_any(self, keys: list[str]) -> bool | None:
        """Like `exists_any`, but None when memory has none of the keys and Redis could
        not answer (degraded, or this very call failed): the caller cannot know."""
        if any(self.memory.get(k) is not None for k in keys):
            return True
        ok, count = await self._call("EXISTS", lambda: self.client.exists(*keys))
        return bool(count) if ok else None

    async def incr_many(self, counters: list[tuple[str, float]]) -> list[int]:
        """Increment window counters [(key, ttl_s)], each given its TTL when it has none:
        one command (a script) when healthy, shared with the calls made meanwhile."""
        return await self.counters.submit(counters)

    async def _incr_batch(self, counters: list[tuple[str, float]]) -> list[int]:
        totals = await self.add_many([(key, 1, ttl_s) for key, ttl_s in counters])
        if totals is not None:
            return totals
        return [self.memory.incr(key, ttl_s) for key, ttl_s in counters]

    async def add_many(self, counters: list[tuple[str, int, float]]) -> list[int] | None:
        """Add each (key, delta, ttl_s) in one command, a key given its TTL when it has
        none: the totals, or None when Redis could not be asked (nothing kept here)."""
        keys = [key for key, _, _ in counters]
        args: list[int] = []
        for _, delta, ttl_s in counters:
            args += [delta, max(1, int(ttl_s + 0.999))]
        ok, results = await self._call("INCR", lambda: self._incr_script(keys, args))
        if ok and isinstance(results, list):
            return [int(count) for count in results]
        return None
