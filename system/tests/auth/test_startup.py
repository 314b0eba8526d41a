"""Start-up reloads durable revocations into a Redis that lost them."""

from __future__ import annotations

import httpx
import pytest
from redis.asyncio import Redis
from secureconnect.auth.app import create_auth_app
from secureconnect.auth.settings import AuthSettings
from secureconnect.common.tokens import REVOKED_KEY_PREFIX, TokenCodec

from tests.helpers import bearer, new_session
from tests.stack import Stack


async def test_startup_reloads_revocations(stack: Stack, monkeypatch: pytest.MonkeyPatch):
    async with httpx.AsyncClient(base_url=stack.gateway.url, timeout=10) as gateway:
        _, tokens = await new_session(gateway)
        assert (
            await gateway.post("/api/v1/auth/logout", headers=bearer(tokens))
        ).status_code == 204
    key = (
        REVOKED_KEY_PREFIX + TokenCodec(stack.jwt_secret).decode_access(tokens["access_token"]).jti
    )
    redis = Redis(port=stack.redis.port, password=stack.redis.password)
    try:
        await redis.delete(key)  # as if Redis had lost it while no auth instance ran
        for name, value in {**stack.env, "SC_SERVICE_NAME": "auth-startup"}.items():
            monkeypatch.setenv(name, value)
        app = create_auth_app(AuthSettings())
        async with app.router.lifespan_context(app):
            assert await redis.exists(key) == 1
    finally:
        await redis.aclose()
