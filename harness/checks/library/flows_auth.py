"""The auth flow's steps, one check each: every step starts from what it needs (a fresh
account, a session) and judges only itself, so a failing step names itself.

    flows_auth.STEPS["refresh rotates the pair, reuse revokes the session"](api, capture_url, ev)
"""

from __future__ import annotations

from collections.abc import Callable

from harness.checks.evidence import EvidenceLog
from harness.clients.api import ApiClient, Session, verification_token

Step = Callable[[ApiClient, str, EvidenceLog], None]


def register(api: ApiClient, capture_url: str, evidence: EvidenceLog) -> None:
    """201 with an unverified account; the same address again is 409."""
    registered = api.register()
    evidence.http("register", registered)
    assert registered.status_code == 201, f"register answered {registered.status_code}"
    user = registered.json()
    assert user["email_verified"] is False, "a new account is verified before any mail"
    again = api.register(user["email"])
    evidence.http("register the same address again", again)
    assert again.status_code == 409, f"a taken address answered {again.status_code}, not 409"


def verify_email(api: ApiClient, capture_url: str, evidence: EvidenceLog) -> None:
    """The token of the mail (read from the SMTP capture) verifies the address, once."""
    registered = api.register()
    assert registered.status_code == 201, f"register answered {registered.status_code}"
    email = registered.json()["email"]
    token = verification_token(capture_url, email)
    verified = api.http.post("/api/v1/auth/verify-email", json={"token": token})
    evidence.http("verify-email", verified)
    assert verified.status_code == 200, f"verify-email answered {verified.status_code}"
    pair = api.login(email).json()
    me = api.me(pair["access_token"]).json()
    evidence.note("/me after verification", str(me))
    assert me["email_verified"] is True, "the address is still unverified after verify-email"
    reused = api.http.post("/api/v1/auth/verify-email", json={"token": token})
    assert reused.status_code == 400, f"a used token answered {reused.status_code}, not 400"


def login(api: ApiClient, capture_url: str, evidence: EvidenceLog) -> None:
    """The address as the user types it (any case) and the password give a working bearer
    pair; a wrong password is 401."""
    registered = api.register()
    assert registered.status_code == 201, f"register answered {registered.status_code}"
    email = registered.json()["email"]
    typed = email.upper()
    logged_in = api.login(typed)
    evidence.http("login with the address in upper case", logged_in)
    assert logged_in.status_code == 200, f"login answered {logged_in.status_code}"
    pair = logged_in.json()
    assert pair["token_type"] == "bearer" and pair["expires_in"] > 0, pair["token_type"]
    assert api.me(pair["access_token"]).status_code == 200, "the access token does not work"
    wrong = api.login(email, password="Not-The-Password-2026!")
    evidence.http("login with a wrong password", wrong)
    assert wrong.status_code == 401, f"a wrong password answered {wrong.status_code}, not 401"


def refresh(api: ApiClient, capture_url: str, evidence: EvidenceLog) -> None:
    """A refresh hands out a new pair; presenting the old refresh token again is reuse:
    refused, and the session it belongs to is revoked (the new pair dies too)."""
    session = api.new_session()
    rotated = api.refresh(session.refresh_token)
    evidence.http("refresh", rotated)
    assert rotated.status_code == 200, f"refresh answered {rotated.status_code}"
    pair = rotated.json()
    assert pair["refresh_token"] != session.refresh_token, "refresh kept the same refresh token"
    assert api.me(pair["access_token"]).status_code == 200, "the rotated access token fails"
    reused = api.refresh(session.refresh_token)
    evidence.http("the rotated-away refresh token presented again", reused)
    assert reused.status_code == 401, f"a rotated refresh token answered {reused.status_code}"
    after = api.refresh(pair["refresh_token"])
    evidence.http("the new refresh token after the reuse", after)
    assert after.status_code == 401, "reuse of a refresh token did not revoke its session"


def logout(api: ApiClient, capture_url: str, evidence: EvidenceLog) -> None:
    """204; afterwards the access token and the refresh token are refused (401)."""
    session: Session = api.new_session()
    out = api.logout(session)
    assert out.status_code == 204, f"logout answered {out.status_code}"
    after = api.me(session.access_token)
    evidence.http("/me after logout", after)
    assert after.status_code == 401, "the access token still works after logout"
    dead_refresh = api.refresh(session.refresh_token)
    evidence.http("refresh after logout", dead_refresh)
    assert dead_refresh.status_code == 401, "the refresh token still works after logout"


STEPS: dict[str, Step] = {
    "registration creates an unverified account, once per address": register,
    "the mailed token verifies the address, once": verify_email,
    "login takes the address in any case, refuses a wrong password": login,
    "refresh rotates the pair, and reuse revokes the session": refresh,
    "logout kills the access and the refresh token": logout,
}
