"""Credentials never reach a log line, whoever logs them."""

from __future__ import annotations

from secureconnect.common.logging import redact

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"


def test_the_websocket_token_in_uvicorn_lines_is_redacted() -> None:
    line = f'127.0.0.1:0 - "WebSocket /ws?token={TOKEN}&x=1" [accepted]'
    assert redact(line) == '127.0.0.1:0 - "WebSocket /ws?token=<redacted>&x=1" [accepted]'


def test_bare_jwts_and_access_token_parameters_are_redacted() -> None:
    assert redact(f"Authorization: Bearer {TOKEN}") == "Authorization: Bearer <redacted>"
    assert redact("GET /cb?access_token=abc123") == "GET /cb?access_token=<redacted>"


def test_ordinary_lines_are_untouched() -> None:
    assert redact("request path=/api/v1/auth/me status=200") == (
        "request path=/api/v1/auth/me status=200"
    )
