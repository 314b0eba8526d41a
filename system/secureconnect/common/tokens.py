"""Access tokens: issue (auth) and verify (every service).

Access tokens are HS256 JWTs carrying `sub` (user id), `sid` (the login
session, i.e. the refresh-token family), `jti`, `iat`, `exp` and `iss`.
Only HS256 with the configured key is accepted, so `alg: none` and tokens
signed with other keys fail. Expiry is checked against the injected clock;
`iat` and `exp` must be numbers, `iat` not later than IAT_LEEWAY_S from now,
and `sub` a UUID: a token that breaks any of these is 401, whoever signed it.

Revocation is by id: `jti` (one access token, e.g. on logout) or `sid` (a
whole session, e.g. on refresh-token reuse). The revocation list lives in
Redis with the in-memory fallback, and optionally in a durable store
(PostgreSQL) consulted when Redis cannot answer.
"""

from __future__ import annotations

import functools
import logging
import secrets
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import jwt

from secureconnect.common.clock import SYSTEM_CLOCK, Clock
from secureconnect.common.errors import DomainError
from secureconnect.common.metrics import REVOCATION_GRACE
from secureconnect.common.resilient_redis import ResilientRedis

log = logging.getLogger(__name__)

ACCESS_TOKEN_TTL_S = 15 * 60
JWT_ALGORITHM = "HS256"
JWT_ISSUER = "secureconnect"
REVOKED_KEY_PREFIX = "revoked:"
#: Tokens whose signature and claims were already checked, per process. A
#: client repeats its token on every request; the cache skips the HMAC and
#: parsing, while expiry (and revocation, in TokenVerifier) is checked each time.
VERIFIED_TOKEN_CACHE_SIZE = 4096
_REQUIRED_CLAIMS = ["exp", "iat", "jti", "sub", "sid", "iss"]
#: Clock skew tolerated between the issuer and a verifier: a token issued further
#: in the future than this was not issued by a service with a sane clock.
IAT_LEEWAY_S = 30


@dataclass(frozen=True)
class AccessClaims:
    sub: str
    sid: str
    jti: str
    iat: int
    exp: int


def _numeric_date(payload: dict[str, Any], name: str) -> int:
    """RFC 7519's NumericDate: a JSON number, never a string or a boolean."""
    value = payload[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise unauthorized("invalid_token", f"token claim '{name}' is not a number")
    return int(value)


def _text_claim(payload: dict[str, Any], name: str) -> str:
    value = payload[name]
    if not isinstance(value, str) or not value:
        raise unauthorized("invalid_token", f"token claim '{name}' is not a string")
    return value


def _claims(payload: dict[str, Any]) -> AccessClaims:
    """The claims of a user's access token, each of the type it must have: `sub` a
    user id (a UUID), `iat` and `exp` numbers. Anything else is 401, never a 500 in
    the code that trusts them."""
    subject = _text_claim(payload, "sub")
    try:
        uuid.UUID(subject)
    except ValueError as exc:
        raise unauthorized("invalid_token", "token subject is not a user id") from exc
    return AccessClaims(
        sub=subject,
        sid=_text_claim(payload, "sid"),
        jti=_text_claim(payload, "jti"),
        iat=_numeric_date(payload, "iat"),
        exp=_numeric_date(payload, "exp"),
    )


def unauthorized(code: str, message: str) -> DomainError:
    return DomainError(401, code, message)


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise unauthorized("missing_token", "an Authorization: Bearer token is required")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("invalid_token", "the Authorization header must be 'Bearer <token>'")
    return token.strip()


class TokenCodec:
    def __init__(self, key: str, clock: Clock = SYSTEM_CLOCK) -> None:
        self._key = key
        self.clock = clock
        self._verified = functools.lru_cache(maxsize=VERIFIED_TOKEN_CACHE_SIZE)(self._verify)

    def issue_access(self, user_id: str, session_id: str) -> tuple[str, AccessClaims]:
        now = int(self.clock.now())
        claims = AccessClaims(
            sub=user_id, sid=session_id, jti=uuid.uuid4().hex, iat=now, exp=now + ACCESS_TOKEN_TTL_S
        )
        payload = {**claims.__dict__, "iss": JWT_ISSUER}
        return jwt.encode(payload, self._key, algorithm=JWT_ALGORITHM), claims

    def decode_access(self, token: str) -> AccessClaims:
        claims = self._verified(token)
        if claims.exp <= self.clock.now():
            raise unauthorized("token_expired", "token has expired")
        return claims

    def _verify(self, token: str) -> AccessClaims:
        """Signature and claims; raises (and so is not cached) when invalid."""
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[JWT_ALGORITHM],
                issuer=JWT_ISSUER,
                options={"verify_exp": False, "verify_iat": False, "require": _REQUIRED_CLAIMS},
            )
        except jwt.InvalidAlgorithmError as exc:
            raise unauthorized("invalid_token", "token algorithm is not accepted") from exc
        except jwt.InvalidSignatureError as exc:
            raise unauthorized("invalid_token", "token signature is invalid") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise unauthorized("invalid_token", f"token lacks the '{exc.claim}' claim") from exc
        except jwt.InvalidTokenError as exc:
            raise unauthorized("invalid_token", "token is malformed") from exc
        claims = _claims(payload)
        if claims.iat > self.clock.now() + IAT_LEEWAY_S:
            raise unauthorized("invalid_token", "token was issued in the future")
        return claims

    def peek_subject(self, token: str) -> str | None:
        """The verified subject, or None; for rate-limit keys, not for authorization."""
        try:
            return self.decode_access(token).sub
        except DomainError:
            return None


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


class DurableRevocations(Protocol):
    async def add(self, token_id: str, expires_at: float) -> bool:
        """True when the revocation was stored."""
        ...

    async def contains_any(self, token_ids: list[str]) -> bool | None:
        """None when the store could not answer."""
        ...

    async def active(self) -> list[tuple[str, float]]:
        """(token id, expires_at epoch seconds) of every unexpired revocation."""
        ...


#: How long after this instance's Redis is back a "not revoked" from Redis is checked
#: against the durable copy as well: well above the skew between instances' health
#: checks (every 0.5 s) and the write-back that follows a recovery.
RECOVERY_GRACE_S = 10.0


class RevocationList:
    def __init__(
        self,
        redis: ResilientRedis,
        durable: DurableRevocations | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.redis = redis
        self.durable = durable
        self.clock = clock
        if durable is not None:
            redis.on_recovery(self._restore_durable)
            REVOCATION_GRACE.labels(redis.service).set_function(self.recovery_grace_left_s)

    async def _restore_durable(self, redis: ResilientRedis) -> None:
        """A Redis that lost its data (restart without persistence) gets them back."""
        assert self.durable is not None
        now = self.clock.now()
        await redis.restore(
            [
                (REVOKED_KEY_PREFIX + token_id, "1", expires_at - now)
                for token_id, expires_at in await self.durable.active()
                if expires_at > now
            ]
        )

    async def revoke(self, token_id: str, expires_at: float) -> None:
        """Revoke until `expires_at` (epoch seconds): past it the token is dead anyway.

        Acknowledged only once a store that every instance reads holds it (Redis or the
        durable copy); with both away it is kept in memory, written back later, and the
        caller gets 503: other instances would still accept the token meanwhile.
        """
        ttl_s = expires_at - self.clock.now()
        if ttl_s <= 0:
            return
        durable = self.durable is not None and await self.durable.add(token_id, expires_at)
        shared = await self.redis.set(REVOKED_KEY_PREFIX + token_id, "1", ttl_s)
        if not (durable or shared):
            raise DomainError(
                503,
                "revocation_unavailable",
                "the revocation could not be stored where every service sees it; try again",
            )

    async def is_revoked(self, *token_ids: str) -> bool:
        """Fails closed: when neither Redis nor the durable copy can answer, the token
        cannot be told from a revoked one, and the caller gets 503 (never a pass).

        Redis alone decides once this instance has seen it healthy for RECOVERY_GRACE_S.
        Before that, another instance may still be degraded: its revocations reach only
        the durable copy until its own health check sees Redis back and writes them there,
        so a "not revoked" from Redis is checked against the durable copy too."""
        keys = [REVOKED_KEY_PREFIX + token_id for token_id in token_ids]
        found = await self.redis.lookup_any(keys)
        if found or self.durable is None or not self._durable_decides(found):
            return bool(found)
        durable = await self.durable.contains_any(list(token_ids))
        if durable is None:
            if found is None:
                raise DomainError(
                    503,
                    "revocation_unavailable",
                    "whether the token was revoked cannot be checked now; try again",
                )
            # PostgreSQL is away too: what Redis holds is all that can be known (a
            # revocation acknowledged only durably needed PostgreSQL to be there).
            return False
        return durable

    def recovery_grace_left_s(self) -> float:
        """Seconds until Redis alone decides (RECOVERY_GRACE_S while it is degraded)."""
        healthy_for = self.redis.healthy_for_s
        return RECOVERY_GRACE_S if healthy_for is None else max(0.0, RECOVERY_GRACE_S - healthy_for)

    def _durable_decides(self, found: bool | None) -> bool:
        """Redis could not answer, or it has not been healthy long enough to hold what
        other instances acknowledged while they were degraded."""
        return found is None or self.recovery_grace_left_s() > 0


class TokenVerifier:
    """Signature, expiry and revocation: what every service checks on a bearer token."""

    def __init__(self, codec: TokenCodec, revocations: RevocationList) -> None:
        self.codec = codec
        self.revocations = revocations

    async def verify(self, token: str) -> AccessClaims:
        claims = self.codec.decode_access(token)
        if await self.revocations.is_revoked(claims.jti, claims.sid):
            raise unauthorized("token_revoked", "token has been revoked")
        return claims
