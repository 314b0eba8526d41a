"""Access-token rules, with a manual clock."""

from __future__ import annotations

import jwt
import pytest
from secureconnect.common.clock import ManualClock
from secureconnect.common.errors import DomainError
from secureconnect.common.tokens import (
    ACCESS_TOKEN_TTL_S,
    IAT_LEEWAY_S,
    TokenCodec,
    bearer_token,
)

KEY = "unit-test-key-that-is-long-enough-for-hs256"
USER = "6f1c1a9e-0d52-4a52-9d2b-3f1f6c1e9a01"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def codec(clock: ManualClock) -> TokenCodec:
    return TokenCodec(KEY, clock)


def rejected(codec: TokenCodec, token: str) -> DomainError:
    with pytest.raises(DomainError) as caught:
        codec.decode_access(token)
    assert caught.value.status == 401
    return caught.value


def test_round_trip_carries_claims(codec: TokenCodec, clock: ManualClock):
    token, claims = codec.issue_access(USER, "session-1")
    decoded = codec.decode_access(token)
    assert decoded == claims
    assert decoded.exp - decoded.iat == ACCESS_TOKEN_TTL_S
    assert decoded.iat == int(clock.now())


def test_expires_exactly_at_ttl(codec: TokenCodec, clock: ManualClock):
    token, _ = codec.issue_access(USER, "session-1")
    clock.advance(ACCESS_TOKEN_TTL_S - 1)
    codec.decode_access(token)
    clock.advance(1)
    assert rejected(codec, token).code == "token_expired"


def test_other_key_and_alg_none_are_rejected(codec: TokenCodec, clock: ManualClock):
    other, _ = TokenCodec("another-key-that-is-long-enough-for-hs256", clock).issue_access(
        USER, "s"
    )
    assert "signature" in rejected(codec, other).message
    payload = jwt.decode(other, options={"verify_signature": False})
    unsigned = jwt.encode(payload, None, algorithm="none")
    assert "algorithm" in rejected(codec, unsigned).message


def test_missing_claim_and_garbage(codec: TokenCodec, clock: ManualClock):
    no_sid = jwt.encode(
        {"sub": "u", "jti": "j", "iat": 1, "exp": 2**31, "iss": "secureconnect"}, KEY
    )
    assert "sid" in rejected(codec, no_sid).message
    assert rejected(codec, "garbage").code == "invalid_token"


def test_peek_subject_never_raises(codec: TokenCodec):
    token, _ = codec.issue_access(USER, "s")
    assert codec.peek_subject(token) == USER
    assert codec.peek_subject("garbage") is None


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "missing_token"),
        ("", "missing_token"),
        ("Basic x", "invalid_token"),
        ("Bearer ", "invalid_token"),
    ],
)
def test_bearer_parsing(header, code):
    with pytest.raises(DomainError) as caught:
        bearer_token(header)
    assert caught.value.code == code


def test_bearer_accepts_any_case():
    assert bearer_token("bearer abc") == "abc"


def signed(clock: ManualClock, **overrides: object) -> str:
    now = int(clock.now())
    claims = {"sub": USER, "sid": "s", "jti": "j", "iat": now, "exp": now + 60}
    return jwt.encode({**claims, "iss": "secureconnect", **overrides}, KEY)


@pytest.mark.parametrize(
    ("overrides", "said"),
    [
        ({"exp": "4000000000"}, "'exp' is not a number"),
        ({"iat": "0"}, "'iat' is not a number"),
        ({"exp": True}, "'exp' is not a number"),
        ({"iat": None}, "lacks the 'iat' claim"),
        ({"sub": "not-a-uuid"}, "not a user id"),
        ({"sub": 42}, "malformed"),
        ({"sid": ["x"]}, "'sid' is not a string"),
    ],
)
def test_claims_of_the_wrong_type_are_401(
    codec: TokenCodec, clock: ManualClock, overrides: dict[str, object], said: str
):
    error = rejected(codec, signed(clock, **overrides))
    assert error.code == "invalid_token"
    assert said in error.message


def test_iat_in_the_future_is_refused_beyond_the_leeway(codec: TokenCodec, clock: ManualClock):
    now = int(clock.now())
    assert codec.decode_access(signed(clock, iat=now + IAT_LEEWAY_S)).iat == now + IAT_LEEWAY_S
    error = rejected(codec, signed(clock, iat=now + IAT_LEEWAY_S + 1))
    assert "issued in the future" in error.message
    assert codec.decode_access(signed(clock, iat=now - 1.5, exp=now + 60.5)).exp == now + 60
