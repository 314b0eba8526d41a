"""Device tokens: proof that a client has logged into an account before.

A successful login hands the client a device token; the client keeps it (as an app
keeps its refresh token) and sends it with later logins. Its only use is to tell
the owner of an account apart from a stranger who knows the account's e-mail
address, so that the stranger's failed guesses cannot lock the owner out
(throttle.py). It grants no access by itself: the password is still checked.

Form: `dt1.<user id>.<issued at>.<nonce>.<signature>`, the signature an HMAC-SHA256
under a key derived from the JWT key (so nothing is stored per device). It lives
DEVICE_TOKEN_TTL_S; the nonce names the device for the failure counter that makes
a stolen device token useless for guessing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid

from secureconnect.common.clock import SYSTEM_CLOCK, Clock

DEVICE_TOKEN_VERSION = "dt1"
DEVICE_TOKEN_TTL_S = 90 * 24 * 3600
_KEY_CONTEXT = b"secureconnect device token v1|"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class DeviceTokens:
    def __init__(self, jwt_key: str, clock: Clock = SYSTEM_CLOCK) -> None:
        self._key = hashlib.sha256(_KEY_CONTEXT + jwt_key.encode()).digest()
        self.clock = clock

    def _sign(self, user_id: str, issued_at: int, nonce: str) -> str:
        message = f"{user_id}|{issued_at}|{nonce}".encode()
        return _b64(hmac.new(self._key, message, hashlib.sha256).digest())

    def issue(self, user_id: str) -> str:
        issued_at = int(self.clock.now())
        nonce = secrets.token_urlsafe(16)
        signature = self._sign(user_id, issued_at, nonce)
        return f"{DEVICE_TOKEN_VERSION}.{user_id}.{issued_at}.{nonce}.{signature}"

    def device_of(self, token: str | None, user_id: uuid.UUID | None) -> str | None:
        """The device id (the nonce) when `token` is a genuine, current device token of
        `user_id`; None otherwise, whatever is wrong with it."""
        if not token or user_id is None:
            return None
        parts = token.split(".")
        if len(parts) != 5 or parts[0] != DEVICE_TOKEN_VERSION or parts[1] != str(user_id):
            return None
        _, subject, issued, nonce, signature = parts
        if not issued.isdigit() or int(issued) + DEVICE_TOKEN_TTL_S <= self.clock.now():
            return None
        expected = self._sign(subject, int(issued), nonce)
        return nonce if hmac.compare_digest(expected, signature) else None
