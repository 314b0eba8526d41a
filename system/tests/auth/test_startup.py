"""Start-up reloads durable revocations into a Redis that lost them."""

from __future__ import annotations

import httpx
from secureconnect.auth.app import create_auth_app
from secureconnect.auth.settings import AuthSettings
from secureconnect.common.tokens import REVOKED_KEY_PREFIX, TokenCodec

from harness.platform.base import Platform
from tests.helpers import bearer, new_session
from tests.stores import redis_client, settings_for


async def test_startup_reloads_revocations(stack: Platform, gateway: httpx.AsyncClient):
    _, tokens = await new_session(gateway)
    assert (await gateway.post("/api/v1/auth/logout", headers=bearer(tokens))).status_code == 204
    codec = TokenCodec(stack.secret("jwt_secret"))
    key = REVOKED_KEY_PREFIX + codec.decode_access(tokens["access_token"]).jti
    redis = redis_client(stack)
    try:
        await redis.delete(key)  # as if Redis had lost it while no auth instance ran
        app = create_auth_app(AuthSettings(**settings_for(stack), service_name="auth-startup"))
        async with app.router.lifespan_context(app):
            assert await redis.exists(key) == 1
    finally:
        await redis.aclose()
