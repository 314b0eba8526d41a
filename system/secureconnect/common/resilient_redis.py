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
from collections.abc import Awaitable, Callable
from enum import StrEnum

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from secureconnect.common.clock import SYSTEM_CLOCK, Clock
from secureconnect.common.memory_store import MemoryStore
from secureconnect.common.metrics import (
    REDIS_COMMAND_DURATION,
    REDIS_DEGRADED,
    REDIS_FALLBACKS,
    REDIS_HEALTH_CHECKS,
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

RecoveryHook = Callable[["ResilientRedis"], Awaitable[None]]
_FAILURES = (RedisError, OSError, TimeoutError)


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

    def record_failure(self) -> bool:
        """True when this failure moves the machine into DEGRADED."""
        self._successes = 0
        self._failures += 1
        if self.state is RedisState.HEALTHY and self._failures >= FAILURES_TO_DEGRADE:
            self._enter(RedisState.DEGRADED)
            return True
        return False

    def record_success(self) -> bool:
        """True when recovery is due (write-back should run, then `recovered()`)."""
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
            socket_timeout=COMMAND_TIMEOUT_S,
            socket_connect_timeout=CONNECT_TIMEOUT_S,
            retry=Retry(NoBackoff(), 0),
            max_connections=MAX_CONNECTIONS,
            decode_responses=True,
        )
        self.service = service
        self.memory = MemoryStore(clock=clock)
        self.machine = DegradedModeMachine(clock)
        self._hooks: list[RecoveryHook] = []
        self._health_task: asyncio.Task[None] | None = None
        self._transition_lock = asyncio.Lock()
        REDIS_DEGRADED.labels(service).set(0)

    @property
    def degraded(self) -> bool:
        return self.machine.state is RedisState.DEGRADED

    def on_recovery(self, hook: RecoveryHook) -> None:
        self._hooks.append(hook)

    # -- lifecycle ---------------------------------------------------------
    async def start(self) -> None:
        await self.check_once()
        self._health_task = asyncio.create_task(self._health_loop(), name="redis-health")

    async def stop(self) -> None:
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
            try:
                await self._write_back()
                for hook in self._hooks:
                    await hook(self)
            except _FAILURES:
                self._failed("WRITE_BACK")
                return
            self.machine.recovered()
            REDIS_DEGRADED.labels(self.service).set(0)
            log.info("redis reachable again: degraded mode off")
            try:  # writes that raced the flip
                await self._write_back()
            except _FAILURES:
                self._failed("WRITE_BACK")

    async def _write_back(self) -> None:
        memory = self.memory
        for key in list(memory.pending_deletes):
            async with asyncio.timeout(COMMAND_TIMEOUT_S):
                await self.client.delete(key)
            memory.pending_deletes.discard(key)
        for key in list(memory.pending_sets):
            value, ttl_s = memory.get(key), memory.ttl(key)
            if value is not None and (ttl_s is None or ttl_s > 0):
                px = None if ttl_s is None else max(1, int(ttl_s * 1000))
                async with asyncio.timeout(COMMAND_TIMEOUT_S):
                    await self.client.set(key, value, px=px)
            memory.pending_sets.discard(key)

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

    async def set(self, key: str, value: str, ttl_s: float | None) -> None:
        px = None if ttl_s is None else max(1, int(ttl_s * 1000))
        ok, _ = await self._call("SET", lambda: self.client.set(key, value, px=px))
        self.memory.set(key, value, ttl_s, pending=not ok)

    async def set_if_absent(self, key: str, value: str, ttl_s: float) -> bool:
        """SET NX: True when this call created the key (atomic in Redis)."""
        px = max(1, int(ttl_s * 1000))
        ok, created = await self._call("SETNX", lambda: self.client.set(key, value, px=px, nx=True))
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
        if any(self.memory.get(k) is not None for k in keys):
            return True
        ok, count = await self._call("EXISTS", lambda: self.client.exists(*keys))
        return bool(ok and count)

    async def incr_many(self, counters: list[tuple[str, float]]) -> list[int]:
        """Increment window counters [(key, ttl_s)]; one round trip when healthy."""

        async def pipeline() -> list[object]:
            pipe = self.client.pipeline(transaction=False)
            for key, ttl_s in counters:
                pipe.incr(key)
                pipe.expire(key, max(1, int(ttl_s + 0.999)), nx=True)
            return await pipe.execute()

        ok, results = await self._call("INCR", pipeline)
        if ok and isinstance(results, list):
            return [int(str(results[i])) for i in range(0, len(results), 2)]
        return [self.memory.incr(key, ttl_s) for key, ttl_s in counters]
