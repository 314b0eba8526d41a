"""Password policy and hashing off the event loop."""

from __future__ import annotations

import pytest
from secureconnect.auth.passwords import (
    ARGON2_MEMORY_KIB,
    ARGON2_TIME_COST,
    PASSWORD_MIN_LENGTH,
    Passwords,
    check_password_strength,
)
from secureconnect.common.errors import DomainError


@pytest.mark.parametrize(
    "password",
    [
        "short1!",
        "a" * 9 + "1",
        "onlyletterslong",
        "1234567890123",
        "password123",
        "aaaa1111aaaa",
        "alice-Secret-1",
    ],
)
def test_weak_passwords_are_422(password):
    with pytest.raises(DomainError) as caught:
        check_password_strength(password, "alice@example.com")
    assert caught.value.status == 422 and caught.value.code == "weak_password"


def test_strong_password_passes():
    check_password_strength("correct-Horse-battery-9", "alice@example.com")
    assert PASSWORD_MIN_LENGTH >= 10


async def test_hash_verify_and_parameters():
    passwords = Passwords()
    try:
        hashed = await passwords.hash("correct-Horse-battery-9")
        assert hashed.startswith("$argon2id$")
        assert f"m={ARGON2_MEMORY_KIB},t={ARGON2_TIME_COST}" in hashed
        assert await passwords.verify(hashed, "correct-Horse-battery-9")
        assert not await passwords.verify(hashed, "wrong")
        assert not await passwords.verify(None, "anything")  # unknown account
        assert not passwords.needs_rehash(hashed)
    finally:
        passwords.close()
