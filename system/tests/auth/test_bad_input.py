"""Bad input gets a clear 4xx with the error body, never a 500, and writes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import jwt
import pytest
from secureconnect.common.tokens import JWT_ISSUER, TokenCodec

from harness.platform.base import Platform
from tests.helpers import PASSWORD, assert_error, new_session, unique_email
from tests.stores import connect_postgres

REGISTER = "/api/v1/auth/register"


async def count_users(stack: Platform) -> int:
    conn = await connect_postgres(stack)
    try:
        return await conn.fetchval("SELECT count(*) FROM users")
    finally:
        await conn.close()


@pytest.fixture
async def users_unchanged(stack: Platform) -> AsyncIterator[None]:
    before = await count_users(stack)
    yield
    assert await count_users(stack) == before


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        (b'{"email": "a@example.com", "password": ', "malformed_json", None),
        (b"not json at all", "malformed_json", None),
        (
            b'{"email": "a@example.com", "password": "correct-Horse-9"}',
            "validation_error",
            "display_name",
        ),
        (b"{}", "validation_error", "email"),
        (
            b'{"email": 42, "password": "correct-Horse-9", "display_name": "x"}',
            "validation_error",
            "email",
        ),
        (
            b'{"email": "a@example.com", "password": ["x"], "display_name": "x"}',
            "validation_error",
            "password",
        ),
        (b"[1, 2, 3]", "validation_error", None),
    ],
)
async def test_malformed_register_bodies(gateway, users_unchanged, body, code, field):
    error = assert_error(await gateway.post(REGISTER, content=body, headers=JSON), 422, code)
    if field:
        assert field in error["message"]


async def test_wrong_types_on_login_and_refresh(gateway: httpx.AsyncClient):
    assert_error(
        await gateway.post("/api/v1/auth/login", json={"email": ["x"], "password": 1}), 422
    )
    assert_error(await gateway.post("/api/v1/auth/refresh", json={"refresh_token": None}), 422)
    assert_error(await gateway.post("/api/v1/auth/refresh", json={"refresh_token": "nope"}), 401)


async def test_oversized_body_declared(gateway, users_unchanged):
    big = b'{"email": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    assert_error(await gateway.post(REGISTER, content=big, headers=JSON), 413, "payload_too_large")


async def test_oversized_body_streamed_without_length(gateway, users_unchanged):
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"email": "'
        for _ in range(40):
            yield b"a" * 64 * 1024

    response = await gateway.post(REGISTER, content=chunks(), headers=JSON)
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "payload_too_large")


async def test_oversized_body_straight_to_auth(auth: httpx.AsyncClient, users_unchanged):
    body = {"email": unique_email(), "password": PASSWORD, "display_name": "x" * 100_000}
    assert_error(await auth.post(REGISTER, json=body), 413, "payload_too_large")


def forged(secret: str, algorithm: str, **overrides) -> str:
    claims = {
        "sub": "00000000-0000-0000-0000-000000000000",
        "sid": "s",
        "jti": "j",
        "iat": 1_700_000_000,
        "exp": 4_000_000_000,
        "iss": JWT_ISSUER,
        **overrides,
    }
    return jwt.encode(claims, secret, algorithm=algorithm)


async def test_token_signed_with_another_key(gateway: httpx.AsyncClient):
    token = forged("another-key-that-is-long-enough-for-hs256-use", "HS256")
    response = await gateway.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert "signature" in assert_error(response, 401, "invalid_token")["message"]


async def test_alg_none_token(gateway: httpx.AsyncClient):
    token = jwt.encode({"sub": "x", "exp": 4_000_000_000}, None, algorithm="none")
    response = await gateway.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert "algorithm" in assert_error(response, 401, "invalid_token")["message"]


async def test_expired_token(gateway: httpx.AsyncClient, stack: Platform):
    _, tokens = await new_session(gateway)
    jwt_secret = stack.secret("jwt_secret")
    claims = TokenCodec(jwt_secret).decode_access(tokens["access_token"])
    token = forged(jwt_secret, "HS256", sub=claims.sub, exp=claims.iat - 1)
    response = await gateway.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert_error(response, 401, "token_expired")


@pytest.mark.parametrize("header", [None, "Bearer", "Basic abc", "Bearer not.a.jwt"])
async def test_missing_or_garbled_authorization(gateway: httpx.AsyncClient, header):
    headers = {"Authorization": header} if header else {}
    assert_error(await gateway.get("/api/v1/auth/me", headers=headers), 401)
    assert_error(await gateway.post("/api/v1/auth/logout", headers=headers), 401)


async def test_unknown_route_and_method(gateway: httpx.AsyncClient):
    assert_error(await gateway.get("/api/v1/nothing-here"), 404)
    assert_error(await gateway.get("/api/v1/auth/register"), 405)
