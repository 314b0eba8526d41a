"""Secrets and bearer tokens must never reach a log."""

from __future__ import annotations

import re

#: A JWT: three base64url parts, the first two JSON objects ("eyJ" = '{"').
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
SHORTEST_SECRET = 12


def redact(line: str, secrets: list[str]) -> str:
    line = JWT.sub("<jwt>", line)
    for secret in secrets:
        line = line.replace(secret, "<secret>")
    return line[:300]


def leaks(logs: dict[str, str], secrets: list[str]) -> list[str]:
    """One entry per component whose log holds a token or a secret value (redacted)."""
    secrets = [s for s in secrets if len(s) >= SHORTEST_SECRET]
    found = []
    for component, text in logs.items():
        for line in text.splitlines():
            if JWT.search(line) or any(s in line for s in secrets):
                found.append(f"{component}: {redact(line, secrets)}")
                break
    return found
