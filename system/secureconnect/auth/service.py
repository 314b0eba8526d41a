"""The rules of authentication.

Sessions and refresh tokens: a login opens a session (a refresh-token
family, id `sid`). Each refresh rotates the token; presenting an already
rotated token is reuse — the session is revoked, which kills every refresh
and access token of that family. Logout revokes the presented access token
and its session.

Login and registration throttles are in throttle.py: failed logins are
counted per address and per account for strangers, per device for owners, so a
stranger cannot lock the owner out.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace

from prometheus_client import Counter

from secureconnect.auth.devices import DeviceTokens
from secureconnect.auth.mailer import Mailer, verification_message
from secureconnect.auth.passwords import Passwords, check_password_strength
from secureconnect.auth.settings import AuthSettings
from secureconnect.auth.store import RefreshRecord, SessionStore, User, UserStore, token_hash, utc
from secureconnect.auth.throttle import LoginAttempt, LoginGuard
from secureconnect.common.bus import SESSION_REVOKED, BusPublisher
from secureconnect.common.clock import Clock
from secureconnect.common.errors import DomainError
from secureconnect.common.tokens import (
    ACCESS_TOKEN_TTL_S,
    AccessClaims,
    RevocationList,
    TokenCodec,
    new_opaque_token,
)

log = logging.getLogger(__name__)

SESSION_EVENTS = Counter(
    "session_events_total",
    "Revoked sessions handed to chat, to close their sockets",
    ["service", "path", "outcome"],
)

REFRESH_TOKEN_TTL_S = 14 * 24 * 3600
EMAIL_VERIFICATION_TTL_S = 24 * 3600


@dataclass(frozen=True)
class Tokens:
    """What a login or a refresh hands out."""

    access_token: str
    refresh_token: str
    expires_in: int
    #: On login: the device token to send with the next login from this device.
    device_token: str | None = None


def invalid_credentials() -> DomainError:
    return DomainError(401, "invalid_credentials", "e-mail or password is incorrect")


class AuthService:
    def __init__(
        self,
        settings: AuthSettings,
        users: UserStore,
        sessions: SessionStore,
        codec: TokenCodec,
        revocations: RevocationList,
        guard: LoginGuard,
        devices: DeviceTokens,
        bus: BusPublisher,
        mailer: Mailer,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.users = users
        self.sessions = sessions
        self.codec = codec
        self.revocations = revocations
        self.guard = guard
        self.devices = devices
        self.bus = bus
        self.mailer = mailer
        self.clock = clock
        self.passwords = Passwords()

    async def register(self, email: str, password: str, display_name: str, client: str) -> User:
        await self.guard.admit_registration(client)
        email = email.strip().lower()
        check_password_strength(password, email)
        user = User(uuid.uuid4(), email, display_name, await self.passwords.hash(password), False)
        token = new_opaque_token()
        expires_at = utc(self.clock.now() + EMAIL_VERIFICATION_TTL_S)
        await self.users.create(user, token_hash(token), expires_at)
        log.info("user registered", extra={"user_id": str(user.id)})
        self.mailer.send_later(verification_message(self.settings, email, display_name, token))
        return user

    async def verify_email(self, token: str) -> None:
        if not await self.users.consume_verification(token_hash(token), utc(self.clock.now())):
            raise DomainError(
                400, "invalid_verification_token", "verification token is unknown, used or expired"
            )

    async def login(
        self, email: str, password: str, client: str, device_token: str | None = None
    ) -> Tokens:
        email = email.strip().lower()
        user = await self.users.by_email(email)
        device = self.devices.device_of(device_token, user.id if user else None)
        attempt = LoginAttempt(email, client, device)
        trusted = await self.guard.admit_login(attempt)
        if not await self.passwords.verify(user.password_hash if user else None, password):
            await self.guard.failed(attempt, trusted)
            raise invalid_credentials()
        assert user is not None
        if self.passwords.needs_rehash(user.password_hash):
            await self.users.set_password_hash(user.id, await self.passwords.hash(password))
        tokens = await self._open_session(str(user.id), session_id=uuid.uuid4().hex)
        issued = device_token if trusted else self.devices.issue(str(user.id))
        return replace(tokens, device_token=issued)

    async def refresh(self, refresh_token: str) -> Tokens:
        record = await self.sessions.load_refresh(refresh_token)
        if record is None or await self.revocations.is_revoked(record.session_id):
            raise DomainError(401, "invalid_refresh_token", "refresh token is invalid or expired")
        if not await self.sessions.mark_used(refresh_token, REFRESH_TOKEN_TTL_S):
            await self.revocations.revoke(record.session_id, self.clock.now() + REFRESH_TOKEN_TTL_S)
            await self._revoked(record.user_id, record.session_id, [])
            log.warning("refresh token reuse: session revoked", extra={"sid": record.session_id})
            raise DomainError(
                401,
                "refresh_token_reused",
                "refresh token was already used; the session is revoked",
            )
        return await self._open_session(record.user_id, session_id=record.session_id)

    async def logout(self, claims: AccessClaims) -> None:
        await self.revocations.revoke(claims.jti, claims.exp)
        await self.revocations.revoke(claims.sid, self.clock.now() + REFRESH_TOKEN_TTL_S)
        await self._revoked(claims.sub, claims.sid, [claims.jti])

    async def _revoked(self, user_id: str, session_id: str, token_ids: list[str]) -> None:
        """Tell every chat instance, so sockets opened with the session close now."""
        data = {"user_id": user_id, "session_id": session_id, "token_ids": token_ids}
        await self.bus.publish(SESSION_REVOKED, data, [uuid.UUID(user_id)])

    async def me(self, claims: AccessClaims) -> User:
        user = await self.users.by_id(uuid.UUID(claims.sub))
        if user is None:
            raise DomainError(401, "invalid_token", "the token's user no longer exists")
        return user

    async def _open_session(self, user_id: str, session_id: str) -> Tokens:
        access_token, _ = self.codec.issue_access(user_id, session_id)
        refresh_token = new_opaque_token()
        await self.sessions.save_refresh(
            refresh_token, RefreshRecord(session_id, user_id), REFRESH_TOKEN_TTL_S
        )
        return Tokens(access_token, refresh_token, ACCESS_TOKEN_TTL_S)

    def close(self) -> None:
        self.passwords.close()
