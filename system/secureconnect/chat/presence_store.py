"""Presence in Redis.

`presence:<user>` is a hash: instance id → expiry (epoch seconds) of that
instance's claim that the user is online; the key itself expires too, so a
crashed instance's claims vanish. `last_seen:<user>` holds the epoch
seconds of the user's last activity. Commands go straight to the client of
the resilient Redis (hashes are not in its key-value fallback); the
presence service keeps the in-memory truth and writes it back.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from redis.exceptions import RedisError

from secureconnect.common.metrics import REDIS_COMMAND_DURATION, REDIS_FALLBACKS
from secureconnect.common.resilient_redis import COMMAND_TIMEOUT_S, ResilientRedis

_FAILURES = (RedisError, OSError, TimeoutError)


@dataclass(frozen=True)
class PresenceRecord:
    user_id: uuid.UUID
    online_here: bool  # this instance holds a socket of the user
    last_seen: float  # epoch seconds


def presence_key(user_id: uuid.UUID) -> str:
    return f"presence:{user_id}"


def last_seen_key(user_id: uuid.UUID) -> str:
    return f"last_seen:{user_id}"


class PresenceStore:
    def __init__(
        self, redis: ResilientRedis, instance_id: str, ttl_s: float, last_seen_ttl_s: float
    ) -> None:
        self.redis = redis
        self.instance_id = instance_id
        self.ttl_s = ttl_s
        self.last_seen_ttl_s = last_seen_ttl_s

    async def write(
        self, records: Iterable[PresenceRecord], now: float, *, force: bool = False
    ) -> bool:
        """Write this instance's view of these users in one round trip; False if not
        written. `force` tries even while degraded (the recovery write-back)."""
        records = list(records)
        if not records:
            return True
        if self.redis.degraded and not force:
            REDIS_FALLBACKS.labels(self.redis.service, "PRESENCE_WRITE").inc()
            return False
        pipe = self.redis.client.pipeline(transaction=False)
        for record in records:
            key = presence_key(record.user_id)
            if record.online_here:
                pipe.hset(key, self.instance_id, str(now + self.ttl_s))
                pipe.pexpire(key, int(self.ttl_s * 1000))
            else:
                pipe.hdel(key, self.instance_id)
            pipe.set(
                last_seen_key(record.user_id),
                repr(record.last_seen),
                px=int(self.last_seen_ttl_s * 1000),
            )
        return await self._run("PRESENCE_WRITE", pipe) is not None

    async def read(self, user_id: uuid.UUID, now: float) -> tuple[bool, float | None] | None:
        """(online anywhere, last seen) from Redis; None when Redis cannot answer."""
        if self.redis.degraded:
            REDIS_FALLBACKS.labels(self.redis.service, "PRESENCE_READ").inc()
            return None
        pipe = self.redis.client.pipeline(transaction=False)
        pipe.hgetall(presence_key(user_id))
        pipe.get(last_seen_key(user_id))
        results = await self._run("PRESENCE_READ", pipe)
        if results is None:
            return None
        claims, last_seen = results
        online = any(float(expiry) > now for expiry in claims.values())
        return online, None if last_seen is None else float(last_seen)

    async def _run(self, command: str, pipe: object) -> list | None:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(COMMAND_TIMEOUT_S):
                return await pipe.execute()  # type: ignore[attr-defined]
        except _FAILURES:
            REDIS_FALLBACKS.labels(self.redis.service, command).inc()
            return None
        finally:
            REDIS_COMMAND_DURATION.labels(self.redis.service, command).observe(
                time.perf_counter() - started
            )
