"""Firebase Cloud Messaging HTTP v1, configured from a service-account file.

Authorisation is OAuth 2.0's JWT bearer grant (RFC 7523): a JWT signed RS256
with the account's private key (iss = client_email, aud = token_uri, scope =
FCM_SCOPE, one hour) is exchanged at `token_uri` — read from the file, like
every other address — for an access token, kept until ACCESS_TOKEN_MARGIN_S
before it expires (by the injected clock). Then one POST per device to the
send URL, `{"message": {"token": <device>, "data": {...}}}`.

A 401 from the send endpoint drops the cached access token (the next attempt
fetches a new one); a device FCM calls unregistered (404, or 400 with
UNREGISTERED/INVALID_ARGUMENT for the token) is handed to `on_unregistered`
so it is forgotten. Retries follow push.py's policy.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt

from secureconnect.common.clock import Clock
from secureconnect.common.settings import SettingsError
from secureconnect.video.push import (
    PUSH_ATTEMPT_TIMEOUT_S,
    IncomingCallPush,
    PushError,
    check_response,
    with_retries,
)

log = logging.getLogger(__name__)

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: Lifetime of the signed assertion, seconds (Google's maximum).
ASSERTION_TTL_S = 3600
#: An access token is replaced this long before it expires, seconds.
ACCESS_TOKEN_MARGIN_S = 60
_REQUIRED_FIELDS = ("project_id", "client_email", "private_key", "token_uri")

Unregistered = Callable[[IncomingCallPush, str], Awaitable[None]]


@dataclass(frozen=True)
class ServiceAccount:
    project_id: str
    client_email: str
    private_key: str
    private_key_id: str | None
    token_uri: str

    @classmethod
    def from_file(cls, path: Path) -> ServiceAccount:
        try:
            raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SettingsError(f"cannot read the FCM credentials file {path}: {exc}") from exc
        missing = [name for name in _REQUIRED_FIELDS if not raw.get(name)]
        if missing:
            raise SettingsError(f"the FCM credentials file lacks {', '.join(missing)}")
        return cls(
            project_id=str(raw["project_id"]),
            client_email=str(raw["client_email"]),
            private_key=str(raw["private_key"]),
            private_key_id=raw.get("private_key_id"),
            token_uri=str(raw["token_uri"]),
        )


def is_unregistered(response: httpx.Response) -> bool:
    if response.status_code == 404:
        return True
    if response.status_code != 400:
        return False
    try:
        error = response.json().get("error", {})
    except ValueError:
        return False
    details = json.dumps(error.get("details", []))
    return "UNREGISTERED" in details or error.get("status") == "NOT_FOUND"


class FcmPushProvider:
    name = "fcm"

    def __init__(
        self,
        service: str,
        account: ServiceAccount,
        send_url: str,
        http: httpx.AsyncClient,
        clock: Clock,
        on_unregistered: Unregistered | None = None,
    ) -> None:
        self.service = service
        self.account = account
        self.send_url = send_url.format(project_id=account.project_id)
        self.http = http
        self.clock = clock
        self.on_unregistered = on_unregistered
        self._access_token: str | None = None
        self._expires_at = 0.0

    def assertion(self) -> str:
        now = int(self.clock.now())
        claims = {
            "iss": self.account.client_email,
            "scope": FCM_SCOPE,
            "aud": self.account.token_uri,
            "iat": now,
            "exp": now + ASSERTION_TTL_S,
        }
        headers = {"kid": self.account.private_key_id} if self.account.private_key_id else None
        return jwt.encode(claims, self.account.private_key, algorithm="RS256", headers=headers)

    async def access_token(self) -> str:
        if self._access_token and self.clock.now() < self._expires_at - ACCESS_TOKEN_MARGIN_S:
            return self._access_token
        response = await self.http.post(
            self.account.token_uri,
            data={"grant_type": JWT_BEARER_GRANT, "assertion": self.assertion()},
            timeout=PUSH_ATTEMPT_TIMEOUT_S,
        )
        check_response(response, "the OAuth token endpoint")
        try:
            body = response.json()
            token, lifetime = str(body["access_token"]), float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError) as exc:
            raise PushError(
                "the token endpoint's answer has no access_token", transient=True
            ) from exc
        self._access_token, self._expires_at = token, self.clock.now() + lifetime
        return token

    async def send(self, push: IncomingCallPush) -> None:
        if not push.devices:
            log.info("push skipped: no device", extra={"push_id": push.push_id})
            return
        failures: list[Exception] = []
        for device in push.devices:  # one failing device does not cost the others theirs
            try:
                await with_retries(
                    self.service, self.name, functools.partial(self._send_one, push, device)
                )
            except Exception as exc:
                failures.append(exc)
        if failures:
            raise PushError(
                f"{len(failures)} of {len(push.devices)} devices failed: {failures[0]}",
                transient=False,
            )

    async def _send_one(self, push: IncomingCallPush, device: str) -> None:
        token = await self.access_token()
        message = {
            "message": {
                "token": device,
                "data": push.data(),
                "android": {"priority": "high", "ttl": "30s"},
                "apns": {"headers": {"apns-priority": "10", "apns-push-type": "voip"}},
            }
        }
        response = await self.http.post(
            self.send_url,
            json=message,
            headers={"Authorization": f"Bearer {token}"},
            timeout=PUSH_ATTEMPT_TIMEOUT_S,
        )
        if response.status_code == 401:
            self._access_token = None
            raise PushError("FCM refused the access token", transient=True)
        if is_unregistered(response):
            if self.on_unregistered is not None:
                await self.on_unregistered(push, device)
            return
        check_response(response, "FCM")

    async def close(self) -> None:
        return None
