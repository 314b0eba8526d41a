"""Service-to-service tokens for internal endpoints (e.g. video → chat events).

A service proves it is one of ours with a short-lived HS256 JWT signed with
the shared JWT key and addressed to INTERNAL_AUDIENCE. The audience keeps
them apart from user access tokens both ways: access tokens carry no `aud`
and are refused here; these carry one, and `TokenCodec.decode_access`
refuses a token with an audience it does not expect.
"""

from __future__ import annotations

import jwt

from secureconnect.common.clock import SYSTEM_CLOCK, Clock
from secureconnect.common.errors import DomainError
from secureconnect.common.tokens import JWT_ALGORITHM, JWT_ISSUER

INTERNAL_AUDIENCE = "secureconnect-internal"
SERVICE_TOKEN_TTL_S = 60
SERVICE_SUBJECT_PREFIX = "service:"


def issue_service_token(key: str, service: str, clock: Clock = SYSTEM_CLOCK) -> str:
    now = int(clock.now())
    payload = {
        "sub": SERVICE_SUBJECT_PREFIX + service,
        "aud": INTERNAL_AUDIENCE,
        "iss": JWT_ISSUER,
        "iat": now,
        "exp": now + SERVICE_TOKEN_TTL_S,
    }
    return jwt.encode(payload, key, algorithm=JWT_ALGORITHM)


def verify_service_token(key: str, token: str, clock: Clock = SYSTEM_CLOCK) -> str:
    """The calling service's name; 401 for anything but a valid, current service token."""
    try:
        payload = jwt.decode(
            token,
            key,
            algorithms=[JWT_ALGORITHM],
            audience=INTERNAL_AUDIENCE,
            issuer=JWT_ISSUER,
            options={"verify_exp": False, "require": ["sub", "aud", "iss", "exp"]},
        )
    except jwt.InvalidTokenError as exc:
        raise DomainError(401, "invalid_service_token", "a service token is required") from exc
    subject = str(payload["sub"])
    if not subject.startswith(SERVICE_SUBJECT_PREFIX) or int(payload["exp"]) <= clock.now():
        raise DomainError(401, "invalid_service_token", "the service token is expired or invalid")
    return subject.removeprefix(SERVICE_SUBJECT_PREFIX)
