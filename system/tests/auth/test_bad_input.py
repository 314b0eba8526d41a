"""Bad input gets a clear 4xx with the error body, never a 500, and writes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import jwt
import pytest
from secureconnect.common.tokens import JWT_ISSUER, TokenCodec

from tests.helpers import PASSWORD, assert_error, new_session, unique_email
from tests.stack import Stack

REGISTER = "/api/v1/auth/register"


@pytest.fixture
async def gateway(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.gateway.url, timeout=10) as client:
        yield client


@pytest.fixture
def users_unchanged(stack: Stack):
    before = stack.postgres.count("users")
    yield
    assert stack.postgres.count("users") == before


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


async def test_oversized_body_straight_to_auth(stack: Stack, users_unchanged):
    body = {"email": unique_email(), "password": PASSWORD, "display_name": "x" * 100_000}
    async with httpx.AsyncClient(base_url=stack.auth.url) as auth:
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


async def test_expired_token(gateway: httpx.AsyncClient, stack: Stack):
    _, tokens = await new_session(gateway)
    claims = TokenCodec(stack.jwt_secret).decode_access(tokens["access_token"])
    token = forged(stack.jwt_secret, "HS256", sub=claims.sub, exp=claims.iat - 1)
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
