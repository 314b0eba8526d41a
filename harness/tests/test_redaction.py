"""Redaction of what the harness writes, and the registry of the run's secrets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.redaction import (
    REDACTED,
    RUN_SECRETS,
    redact,
    redact_file,
    redact_text,
    register_body,
    register_json,
)

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    RUN_SECRETS.clear()
    yield
    RUN_SECRETS.clear()


def test_patterns_are_redacted_without_registration():
    text = (
        f'{{"access_token": "{JWT}", "refresh_token": "opaque-refresh-1234", "password": '
        f'"Hunter2-hunter2", "user_id": "u-1"}} Authorization: Bearer abcdefgh12345 '
        "https://s3/x?X-Amz-Signature=deadbeefcafe&X-Amz-Date=20260101 "
        "/content?expires=1&signature=00ff00ff00ff"
    )
    cleaned = redact_text(text)
    for secret in (JWT, "opaque-refresh-1234", "Hunter2-hunter2", "abcdefgh12345", "deadbeefcafe"):
        assert secret not in cleaned
    assert "00ff00ff00ff" not in cleaned
    assert '"user_id": "u-1"' in cleaned and "X-Amz-Date=20260101" in cleaned


def test_registered_values_are_redacted_wherever_they_appear():
    RUN_SECRETS.add("refresh-value-without-a-field", "short")
    text = "the log said refresh-value-without-a-field and short"
    assert redact_text(text) == f"the log said {REDACTED} and short"


def test_data_is_redacted_by_key_and_value():
    RUN_SECRETS.add("s3-secret-key-value")
    data = {"device_token": "dt1.x", "body": ["s3-secret-key-value"], "status": 200}
    assert redact(data) == {"device_token": REDACTED, "body": [REDACTED], "status": 200}


def test_responses_and_requests_register_their_secrets():
    register_body(
        json.dumps(
            {
                "access_token": JWT,
                "refresh_token": "refresh-token-value",
                "upload_url": "http://s3/b/k?X-Amz-Credential=AKIA%2Fx&X-Amz-Signature=abcdef123456",
                "ice_servers": [{"credential": "turn-credential-value"}],
            }
        ).encode()
    )
    register_json({"email": "a@example.com", "password": "Readiness-Check-2026!"})
    found = set(RUN_SECRETS.values())
    assert {JWT, "refresh-token-value", "abcdef123456", "turn-credential-value"} <= found
    assert "Readiness-Check-2026!" in found and "a@example.com" not in found


def test_files_are_rewritten_only_when_they_hold_secrets(tmp_path: Path):
    leaky, clean = tmp_path / "junit.xml", tmp_path / "pytest.log"
    leaky.write_text(f"<failure>{JWT}</failure>")
    clean.write_text("nothing to hide")
    assert redact_file(leaky) and not redact_file(clean)
    assert JWT not in leaky.read_text() and clean.read_text() == "nothing to hide"
