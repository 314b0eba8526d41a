"""A small SecureConnect API client for scenarios, load journeys and benchmarks.

It speaks the public contract of docs/api.md through the gateway and
nothing else, so a check that uses it tests what a real client sees.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

import httpx

from harness.keepalive import LIMITS
from harness.redaction import RUN_SECRETS, register_body
from harness.waiting import eventually

DEFAULT_TIMEOUT_S = 10.0
STRONG_PASSWORD = "Readiness-Check-2026!"
VERIFICATION_TOKEN = re.compile(r"Verification token: (\S+)")
MAIL_DEADLINE_S = 10.0


@dataclass
class Session:
    """A registered, logged-in user."""

    user_id: str
    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def _note_request(request: httpx.Request) -> None:
    """The secrets a request carries (a password, a token) join the run's secrets."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        RUN_SECRETS.add(token.strip())
    if "json" in request.headers.get("content-type", ""):
        register_body(request.content)


def _note_response(response: httpx.Response) -> None:
    """So do the secrets an answer hands out (tokens, credentials, signed links)."""
    if "json" in response.headers.get("content-type", ""):
        register_body(response.read())


class ApiClient:
    """Every secret it sends or receives is registered as one of the run's secrets
    (harness.redaction), so nothing the harness writes carries it."""

    def __init__(
        self,
        gateway_url: str,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        local_address: str | None = None,
    ) -> None:
        """`local_address`: the loopback address to connect from (a client of its own to
        the product's per-address throttles); default the harness's own."""
        self.http = httpx.Client(
            base_url=gateway_url,
            timeout=timeout_s,
            transport=httpx.HTTPTransport(limits=LIMITS, local_address=local_address),
            event_hooks={"request": [_note_request], "response": [_note_response]},
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def register(self, email: str | None = None, password: str = STRONG_PASSWORD) -> httpx.Response:
        email = email or f"user-{secrets.token_hex(6)}@example.com"
        body = {"email": email, "password": password, "display_name": email.split("@")[0]}
        return self.http.post("/api/v1/auth/register", json=body)

    def login(self, email: str, password: str = STRONG_PASSWORD) -> httpx.Response:
        return self.http.post("/api/v1/auth/login", json={"email": email, "password": password})

    def refresh(self, refresh_token: str) -> httpx.Response:
        return self.http.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})

    def logout(self, session: Session) -> httpx.Response:
        return self.http.post("/api/v1/auth/logout", headers=session.headers)

    def me(self, access_token: str) -> httpx.Response:
        return self.http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {access_token}"})

    def new_session(self) -> Session:
        """Register and log in a fresh user; raises AssertionError naming a failed step."""
        registered = self.register()
        assert registered.status_code == 201, f"register answered {registered.status_code}"
        email = registered.json()["email"]
        logged_in = self.login(email)
        assert logged_in.status_code == 200, f"login answered {logged_in.status_code}"
        tokens = logged_in.json()
        return Session(
            registered.json()["user_id"],
            email,
            STRONG_PASSWORD,
            tokens["access_token"],
            tokens["refresh_token"],
        )


def verification_token(capture_url: str, email: str) -> str:
    """The token from the verification mail the capture server received for `email`."""

    def find() -> str | None:
        answer = httpx.get(f"{capture_url}/messages", params={"to": email}, timeout=5).json()
        for message in reversed(answer["messages"]):
            match = VERIFICATION_TOKEN.search(message["text"])
            if match:
                RUN_SECRETS.add(match.group(1))
                return match.group(1)
        return None

    return eventually(find, MAIL_DEADLINE_S, what=f"verification mail for {email}")
