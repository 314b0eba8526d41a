"""A revocation holds on every instance while Redis fails, and is never acknowledged unseen.

- Another instance's revocation is in the durable copy; this instance's Redis has just
  become unreachable but is not degraded yet (one failed call): the durable copy decides,
  so the token is refused, not let through in the moments before degraded mode.
- Just after Redis comes back, another instance may still be degraded and acknowledge
  revocations only durably: for RECOVERY_GRACE_S this instance checks a "not revoked"
  from Redis against the durable copy; afterwards Redis alone decides (no database
  round trip per request).
- With Redis and PostgreSQL both away, a revocation cannot reach any store another
  instance reads: revoke answers 503 (the client retries) and keeps it in memory; and a
  token cannot be checked against another instance's revocations: 503, never a pass.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY
from secureconnect.common.clock import SYSTEM_CLOCK, ManualClock
from secureconnect.common.db import Database
from secureconnect.common.errors import DomainError
from secureconnect.common.resilient_redis import ResilientRedis
from secureconnect.common.revocations_pg import PostgresRevocations
from secureconnect.common.settings import DatabaseSettings, RedisSettings
from secureconnect.common.tokens import RECOVERY_GRACE_S, REVOKED_KEY_PREFIX, RevocationList

from harness.platform.base import Platform
from harness.platform.ports import free_port
from tests.helpers import database_settings
from tests.stores import settings_for

TOKEN_TTL_S = 600


def grace_published(service: str) -> float | None:
    return REGISTRY.get_sample_value("revocation_recovery_grace_seconds", {"service": service})


@pytest.fixture
async def unreachable_redis() -> AsyncIterator[ResilientRedis]:
    redis = ResilientRedis(RedisSettings(redis_port=free_port()), "unit-revocation")
    yield redis  # never started: healthy as far as it knows, until a call fails
    await redis.stop()


async def test_a_revocation_by_another_instance_holds_before_degraded_mode(
    stack: Platform, unreachable_redis: ResilientRedis
) -> None:
    db = Database(DatabaseSettings(**database_settings(stack)), "unit-revocation")
    try:
        durable = PostgresRevocations(db)
        token_id = uuid.uuid4().hex
        assert await durable.add(token_id, time.time() + TOKEN_TTL_S)
        revocations = RevocationList(unreachable_redis, durable, SYSTEM_CLOCK)
        assert not unreachable_redis.degraded
        assert await revocations.is_revoked(token_id) is True
        assert await revocations.is_revoked(uuid.uuid4().hex) is False
    finally:
        await db.close()


async def test_a_revocation_no_shared_store_took_is_not_acknowledged(
    stack: Platform, unreachable_redis: ResilientRedis
) -> None:
    settings = {**database_settings(stack), "db_port": free_port(), "db_connect_timeout_s": 1}
    db = Database(DatabaseSettings(**settings), "unit-revocation-down")
    try:
        revocations = RevocationList(unreachable_redis, PostgresRevocations(db), SYSTEM_CLOCK)
        token_id = uuid.uuid4().hex
        with pytest.raises(DomainError) as refused:
            await revocations.revoke(token_id, time.time() + TOKEN_TTL_S)
        assert refused.value.status == 503
        assert refused.value.code == "revocation_unavailable"
        # Kept for the write-back, and this instance refuses the token already.
        assert REVOKED_KEY_PREFIX + token_id in unreachable_redis.memory.pending_sets
        assert await revocations.is_revoked(token_id) is True
    finally:
        await db.close()


async def test_a_token_neither_store_can_check_is_refused(
    stack: Platform, unreachable_redis: ResilientRedis
) -> None:
    settings = {**database_settings(stack), "db_port": free_port(), "db_connect_timeout_s": 1}
    db = Database(DatabaseSettings(**settings), "unit-revocation-blind")
    try:
        revocations = RevocationList(unreachable_redis, PostgresRevocations(db), SYSTEM_CLOCK)
        with pytest.raises(DomainError) as refused:  # another instance may have revoked it
            await revocations.is_revoked(uuid.uuid4().hex)
        assert (refused.value.status, refused.value.code) == (503, "revocation_unavailable")
    finally:
        await db.close()


class CountingRevocations(PostgresRevocations):
    lookups = 0

    async def contains_any(self, token_ids: list[str]) -> bool | None:
        self.lookups += 1
        return await super().contains_any(token_ids)


async def test_a_revocation_acknowledged_only_durably_holds_after_redis_returns(
    stack: Platform,
) -> None:
    """The race INV-007 found: auth still degraded writes a logout only to PostgreSQL
    while chat, already back on Redis, asks Redis alone and lets the token through."""
    clock = ManualClock()
    redis = ResilientRedis(RedisSettings(**settings_for(stack)), "unit-grace", clock)
    db = Database(DatabaseSettings(**database_settings(stack)), "unit-grace")
    try:
        await redis.start()  # healthy from now: the grace starts
        durable = CountingRevocations(db)
        token_id = uuid.uuid4().hex
        assert await durable.add(token_id, time.time() + TOKEN_TTL_S)  # the other instance
        revocations = RevocationList(redis, durable, clock)
        assert await revocations.is_revoked(token_id) is True
        assert await revocations.is_revoked(uuid.uuid4().hex) is False
        assert durable.lookups == 2
        assert grace_published("unit-grace") == RECOVERY_GRACE_S  # the harness waits it out
        clock.advance(RECOVERY_GRACE_S + 1)  # by now every instance wrote back to Redis
        assert await revocations.is_revoked(uuid.uuid4().hex) is False
        assert durable.lookups == 2, "Redis alone decides once the grace is over"
        assert grace_published("unit-grace") == 0
    finally:
        await redis.stop()
        await db.close()
