"""Redis unavailable: auth keeps working on its fallback, then writes back.

Steady state: sessions exist, redis_degraded_mode is 0 everywhere.
Fault: the Redis process is frozen (SIGSTOP), so commands hang, not fail.
Assertions: degraded within 2 s; register, login, refresh, logout and
authenticated requests work through the gateway; after SIGCONT the gauge
is 0 within 5 s and a token revoked during the outage stays rejected.
"""

from __future__ import annotations

import time

import httpx
from secureconnect.common.tokens import REVOKED_KEY_PREFIX, TokenCodec

from harness.faults.injector import FaultInjector
from harness.platform.base import Platform
from tests.helpers import assert_error, bearer, eventually, login, metric, new_session, register
from tests.stores import redis_client

DEGRADE_DEADLINE_S = 2.0
RECOVER_DEADLINE_S = 5.0


async def degraded_flag(client: httpx.AsyncClient, service: str) -> float | None:
    text = (await client.get("/metrics")).text
    return metric(text, "redis_degraded_mode", service=service)


async def test_auth_survives_redis_outage_and_writes_back(
    stack: Platform, faults: FaultInjector, gateway: httpx.AsyncClient, auth: httpx.AsyncClient
):
    _, before = await new_session(gateway)  # a session created while Redis is healthy

    with faults.paused_process("redis"):
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

    recovery_start = time.monotonic()

    async def recovered() -> bool:
        return await degraded_flag(auth, "auth") == 0.0

    await eventually(recovered, RECOVER_DEADLINE_S, "redis_degraded_mode back to 0")
    assert time.monotonic() - recovery_start <= RECOVER_DEADLINE_S

    # The revocation made during the outage was written back to Redis ...
    claims = TokenCodec(stack.secret("jwt_secret")).decode_access(during["access_token"])
    redis = redis_client(stack)
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


async def test_redis_restarted_empty_gets_revocations_and_sessions_back(
    stack: Platform, gateway: httpx.AsyncClient, auth: httpx.AsyncClient
):
    """Redis stopped (no persistence) and started again empty: nothing revoked comes back
    to life. Stopped, not killed: the platform's watchdog would restart a killed Redis
    before the services noticed it gone."""
    _, revoked = await new_session(gateway)
    assert (await gateway.post("/api/v1/auth/logout", headers=bearer(revoked))).status_code == 204
    _, live = await new_session(gateway)

    async def degraded() -> bool:
        return await degraded_flag(auth, "auth") == 1.0

    stack.stop("redis")
    try:
        await eventually(degraded, DEGRADE_DEADLINE_S, "redis_degraded_mode == 1")
    finally:
        stack.start("redis")

    async def recovered() -> bool:
        return await degraded_flag(auth, "auth") == 0.0

    await eventually(recovered, RECOVER_DEADLINE_S, "redis_degraded_mode back to 0")
    claims = TokenCodec(stack.secret("jwt_secret")).decode_access(revoked["access_token"])
    redis = redis_client(stack)
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
