"""The auth flow of API.md end to end, through the gateway."""

from __future__ import annotations

import httpx

from harness.platform.base import Platform
from tests.helpers import (
    PASSWORD,
    assert_error,
    bearer,
    eventually,
    login,
    new_session,
    register,
    unique_email,
    verification_token,
)

MAIL_DEADLINE_S = 5.0


async def test_register_verify_login_refresh_logout(gateway: httpx.AsyncClient, stack: Platform):
    email = unique_email()
    user = await register(gateway, email)
    assert user["email"] == email and user["email_verified"] is False
    assert user["display_name"] == "Test User" and user["user_id"]

    tokens = await login(gateway, email)  # login works before verification
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] > 0
    me = (await gateway.get("/api/v1/auth/me", headers=bearer(tokens))).json()
    assert me == user

    async def mailed_token() -> str | None:
        return await verification_token(stack.endpoint("capture").url or "", email)

    token = await eventually(mailed_token, MAIL_DEADLINE_S, "verification mail")
    verified = await gateway.post("/api/v1/auth/verify-email", json={"token": token})
    assert verified.status_code == 200 and verified.json() == {"email_verified": True}
    again = await gateway.post("/api/v1/auth/verify-email", json={"token": token})
    assert_error(again, 400, "invalid_verification_token")
    me = (await gateway.get("/api/v1/auth/me", headers=bearer(tokens))).json()
    assert me["email_verified"] is True

    rotated = await gateway.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    assert (await gateway.get("/api/v1/auth/me", headers=bearer(new))).status_code == 200

    out = await gateway.post("/api/v1/auth/logout", headers=bearer(new))
    assert out.status_code == 204
    assert_error(await gateway.get("/api/v1/auth/me", headers=bearer(new)), 401, "token_revoked")
    refused = await gateway.post(
        "/api/v1/auth/refresh", json={"refresh_token": new["refresh_token"]}
    )
    assert_error(refused, 401)


async def test_duplicate_email_is_409(gateway: httpx.AsyncClient):
    email = (await register(gateway))["email"]
    again = await gateway.post(
        "/api/v1/auth/register",
        json={"email": email.upper(), "password": PASSWORD, "display_name": "Again"},
    )
    assert_error(again, 409, "email_taken")


async def test_weak_password_and_bad_email_are_422(gateway: httpx.AsyncClient):
    weak = await gateway.post(
        "/api/v1/auth/register",
        json={"email": unique_email(), "password": "short", "display_name": "Weak"},
    )
    assert_error(weak, 422, "weak_password")
    bad_email = await gateway.post(
        "/api/v1/auth/register",
        json={"email": "not-an-email", "password": PASSWORD, "display_name": "Bad"},
    )
    assert "email" in assert_error(bad_email, 422, "validation_error")["message"]


async def test_refresh_token_reuse_revokes_the_family(gateway: httpx.AsyncClient):
    _, first = await new_session(gateway)
    second = (
        await gateway.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    ).json()
    reuse = await gateway.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert_error(reuse, 401, "refresh_token_reused")
    # the whole family is dead: the rotated refresh token and its access token too
    assert_error(
        await gateway.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}),
        401,
    )
    assert_error(await gateway.get("/api/v1/auth/me", headers=bearer(second)), 401, "token_revoked")


async def test_a_stranger_throttles_strangers_not_the_owner(gateway: httpx.AsyncClient):
    """Failed logins close the account to clients without its device token, with a
    backoff; the owner's device token still logs in (auth/throttle.py)."""
    from secureconnect.auth.throttle import LOGIN_FAILURES_PER_ACCOUNT

    email, first = await new_session(gateway)
    assert first["device_token"]
    for _ in range(LOGIN_FAILURES_PER_ACCOUNT + 1):
        wrong = await gateway.post(
            "/api/v1/auth/login", json={"email": email, "password": "nope-nope-1"}
        )
        assert_error(wrong, 401, "invalid_credentials")
    throttled = await gateway.post(
        "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
    )
    error = assert_error(throttled, 429, "rate_limited")
    assert int(throttled.headers["Retry-After"]) > 0 and error["retry_after"] > 0
    owner = await gateway.post(
        "/api/v1/auth/login",
        json={"email": email, "password": PASSWORD, "device_token": first["device_token"]},
    )
    assert owner.status_code == 200, owner.text
    assert owner.json()["device_token"] == first["device_token"]


async def test_unknown_account_is_401(gateway: httpx.AsyncClient):
    response = await gateway.post(
        "/api/v1/auth/login", json={"email": unique_email(), "password": PASSWORD}
    )
    assert_error(response, 401, "invalid_credentials")


async def test_registration_is_throttled_per_address(gateway: httpx.AsyncClient):
    """From an address the deployment does not exempt (the local stack exempts the
    harness's own 127.0.0.1), registrations beyond the limit are 429 before any work."""
    from secureconnect.auth.throttle import REGISTRATIONS_PER_ADDRESS

    transport = httpx.AsyncHTTPTransport(local_address="127.0.0.77")
    async with httpx.AsyncClient(base_url=gateway.base_url, transport=transport) as stranger:
        statuses = []
        for _ in range(REGISTRATIONS_PER_ADDRESS + 1):
            body = {"email": unique_email(), "password": "short", "display_name": "bulk"}
            statuses.append((await stranger.post("/api/v1/auth/register", json=body)).status_code)
    assert statuses[:-1] == [422] * REGISTRATIONS_PER_ADDRESS  # counted, then refused as weak
    assert statuses[-1] == 429
    assert (await register(gateway))["email"]  # the harness's own address is not affected
