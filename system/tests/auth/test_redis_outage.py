"""Redis unavailable: auth keeps working on its fallback, then writes back.

Steady state: sessions exist, redis_degraded_mode is 0 everywhere.
Fault: the Redis process is frozen (SIGSTOP), so commands hang, not fail.
Assertions: degraded within 2 s; register, login, refresh, logout and
authenticated requests work through the gateway; after SIGCONT the gauge
is 0 within 5 s and a token revoked during the outage stays rejected.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis
from secureconnect.common.tokens import REVOKED_KEY_PREFIX, TokenCodec

from tests.helpers import assert_error, bearer, eventually, login, metric, new_session, register
from tests.stack import Stack

DEGRADE_DEADLINE_S = 2.0
RECOVER_DEADLINE_S = 5.0


async def degraded_flag(client: httpx.AsyncClient, service: str) -> float | None:
    text = (await client.get("/metrics")).text
    return metric(text, "redis_degraded_mode", service=service)


@pytest.fixture
async def clients(stack: Stack) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    async with (
        httpx.AsyncClient(base_url=stack.gateway.url, timeout=10) as gateway,
        httpx.AsyncClient(base_url=stack.auth.url, timeout=10) as auth,
    ):
        yield gateway, auth


async def test_auth_survives_redis_outage_and_writes_back(stack: Stack, clients):
    gateway, auth = clients
    _, before = await new_session(gateway)  # a session created while Redis is healthy

    stack.redis.pause()
    try:
        outage_start = time.monotonic()

        async def both_degraded() -> bool:
            flags = [await degraded_flag(auth, "auth"), await degraded_flag(gateway, "gateway")]
            return flags == [1.0, 1.0]

        await eventually(both_degraded, DEGRADE_DEADLINE_S, "redis_degraded_mode == 1")
        assert time.monotonic() - outage_start <= DEGRADE_DEADLINE_S
        ready = (await auth.get("/ready")).json()
        assert ready["dependencies"]["redis"]["state"] == "degraded"

        during = await login(gateway, (await register(gateway))["email"])
        assert (await gateway.get("/api/v1/auth/me", headers=bearer(during))).status_code == 200
        refreshed = await gateway.post(
            "/api/v1/auth/refresh", json={"refresh_token": before["refresh_token"]}
        )
        assert refreshed.status_code == 200, refreshed.text
        assert (
            await gateway.get("/api/v1/auth/me", headers=bearer(refreshed.json()))
        ).status_code == 200
        assert (
            await gateway.post("/api/v1/auth/logout", headers=bearer(during))
        ).status_code == 204
        assert_error(
            await gateway.get("/api/v1/auth/me", headers=bearer(during)), 401, "token_revoked"
        )
    finally:
        stack.redis.resume()

    recovery_start = time.monotonic()

    async def recovered() -> bool:
        return await degraded_flag(auth, "auth") == 0.0

    await eventually(recovered, RECOVER_DEADLINE_S, "redis_degraded_mode back to 0")
    assert time.monotonic() - recovery_start <= RECOVER_DEADLINE_S

    # The revocation made during the outage was written back to Redis ...
    claims = TokenCodec(stack.jwt_secret).decode_access(during["access_token"])
    redis = Redis(port=stack.redis.port, password=stack.redis.password)
    try:
        assert await redis.exists(REVOKED_KEY_PREFIX + claims.jti) == 1
    finally:
        await redis.aclose()
    # ... and still rejects the token and its session now that Redis answers again.
    assert_error(await gateway.get("/api/v1/auth/me", headers=bearer(during)), 401, "token_revoked")
    assert_error(
        await gateway.post("/api/v1/auth/refresh", json={"refresh_token": during["refresh_token"]}),
        401,
    )
    # The session refreshed during the outage goes on working.
    again = await gateway.post(
        "/api/v1/auth/refresh", json={"refresh_token": refreshed.json()["refresh_token"]}
    )
    assert again.status_code == 200, again.text


async def test_redis_restarted_empty_gets_revocations_and_sessions_back(stack: Stack, clients):
    """Redis killed (no persistence) and started again: nothing revoked comes back to life."""
    gateway, auth = clients
    _, revoked = await new_session(gateway)
    assert (await gateway.post("/api/v1/auth/logout", headers=bearer(revoked))).status_code == 204
    _, live = await new_session(gateway)

    stack.redis.kill()

    async def degraded() -> bool:
        return await degraded_flag(auth, "auth") == 1.0

    await eventually(degraded, DEGRADE_DEADLINE_S, "redis_degraded_mode == 1")
    stack.redis.start()

    async def recovered() -> bool:
        return await degraded_flag(auth, "auth") == 0.0

    await eventually(recovered, RECOVER_DEADLINE_S, "redis_degraded_mode back to 0")
    claims = TokenCodec(stack.jwt_secret).decode_access(revoked["access_token"])
    redis = Redis(port=stack.redis.port, password=stack.redis.password)
    try:

        async def revocation_restored() -> bool:
            return await redis.exists(REVOKED_KEY_PREFIX + claims.jti) == 1

        await eventually(revocation_restored, RECOVER_DEADLINE_S, "revocation back in Redis")
    finally:
        await redis.aclose()
    assert_error(
        await gateway.get("/api/v1/auth/me", headers=bearer(revoked)), 401, "token_revoked"
    )
    rotated = await gateway.post(
        "/api/v1/auth/refresh", json={"refresh_token": live["refresh_token"]}
    )
    assert rotated.status_code == 200, rotated.text
