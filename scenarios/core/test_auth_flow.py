"""The auth flow of the API contract, end to end through the gateway."""

from __future__ import annotations

from harness import ApiClient, EvidenceLog, check, verification_token


@check(
    "CORE-001",
    "Register, verify e-mail over SMTP, login, refresh with rotation, logout",
    category="core",
    severity="BLOCKER",
    finding="Auth flow: register, login, JWT, sessions, revocation, e-mail verification",
    fix="Implement the auth contract of API.md.",
    impact="Users cannot sign up, verify their address, sign in or sign out: the product is "
    "unusable.",
)
def test_auth_flow(api: ApiClient, capture_url: str, evidence: EvidenceLog) -> None:
    registered = api.register()
    evidence.http("register", registered)
    assert registered.status_code == 201, f"register answered {registered.status_code}"
    user = registered.json()
    assert user["email_verified"] is False
    token = verification_token(capture_url, user["email"])
    verified = api.http.post("/api/v1/auth/verify-email", json={"token": token})
    assert verified.status_code == 200, f"verify-email answered {verified.status_code}"
    login = api.login(user["email"])
    evidence.http("login", login)
    pair = login.json()
    assert login.status_code == 200 and pair["token_type"] == "bearer"
    me = api.me(pair["access_token"])
    assert me.status_code == 200 and me.json()["email_verified"] is True
    rotated = api.refresh(pair["refresh_token"])
    assert rotated.status_code == 200, f"refresh answered {rotated.status_code}"
    access = rotated.json()["access_token"]
    assert api.me(access).status_code == 200, "the rotated access token does not work"
    bearer = {"Authorization": f"Bearer {access}"}
    assert api.http.post("/api/v1/auth/logout", headers=bearer).status_code == 204
    after = api.me(access)
    evidence.http("/me after logout", after)
    assert after.status_code == 401, "the access token still works after logout"
    dead_refresh = api.refresh(rotated.json()["refresh_token"])
    assert dead_refresh.status_code == 401, "the refresh token still works after logout"
    reused = api.refresh(pair["refresh_token"])
    evidence.http("reusing a rotated refresh token", reused)
    assert reused.status_code == 401, "a rotated refresh token was accepted again"
