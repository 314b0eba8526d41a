"""Secrets out of everything the harness writes, and the list of the run's own secrets.

Everything the harness writes about a run (evidence, check messages, results.json,
the reports, JUnit, Allure, pytest.log) goes through `redact`:
- JWTs, anywhere;
- `Authorization: Bearer ...` values;
- the values of secret-named fields in JSON (`"password": "..."`, tokens, credentials,
  signatures) and of credential query parameters in URLs (presigned signatures,
  `token=`);
- every value registered in RUN_SECRETS: what the run's clients were handed or sent
  (passwords, access, refresh, device and verification tokens, TURN credentials,
  link signatures) and the stack's own secrets.

The API client registers what it sees (harness.clients.api); the platform's secrets are
registered when a check asks for the stack. SEC-010 scans every artifact of the
run for exactly these values.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from harness.literals import Literals

REDACTED = "<redacted>"
#: Shorter values are not secrets (and would redact half the report).
SHORTEST_SECRET = 8
#: JSON fields whose values are secrets, wherever they appear.
SECRET_FIELDS = frozenset(
    {
        "password",
        "access_token",
        "refresh_token",
        "device_token",
        "token",
        "credential",
        "secret",
        "signature",
    }
)
#: URL query parameters whose values are secrets.
SECRET_PARAMETERS = frozenset(
    {"x-amz-signature", "x-amz-credential", "x-amz-security-token", "signature", "token"}
)
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)
_FIELDS = "|".join(sorted(SECRET_FIELDS))
JSON_FIELD = re.compile(rf'("(?:{_FIELDS})"\s*:\s*")((?:[^"\\]|\\.)*)(")', re.IGNORECASE)
_PARAMETERS = "|".join(re.escape(p) for p in sorted(SECRET_PARAMETERS))
QUERY_PARAMETER = re.compile(rf"((?:[?&;]|\b)(?:{_PARAMETERS})=)([^&\s\"'<>]+)", re.IGNORECASE)


class SecretRegistry:
    """The run's own secrets, by value; thread-safe (listeners and clients run in threads)."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()
        self._literals: Literals | None = None

    def add(self, *values: object) -> None:
        fresh = {v for v in values if isinstance(v, str) and len(v) >= SHORTEST_SECRET}
        with self._lock:
            if not fresh <= self._values:
                self._values |= fresh
                self._literals = None

    def values(self) -> list[str]:
        with self._lock:
            return sorted(self._values, key=len, reverse=True)  # longest first

    def literals(self) -> Literals:
        """Every value, found in one pass over a text however many there are."""
        with self._lock:
            if self._literals is None:
                self._literals = Literals(self._values)
            return self._literals

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._literals = None


RUN_SECRETS = SecretRegistry()


def redact_text(text: str, secrets: Iterable[str] | None = None) -> str:
    """`text` without the run's secrets (or `secrets`, when given) and secret patterns."""
    known = RUN_SECRETS.literals() if secrets is None else Literals(secrets)
    text = known.sub(REDACTED, text)
    text = JWT.sub(REDACTED, text)
    text = BEARER.sub(rf"\g<1>{REDACTED}", text)
    text = JSON_FIELD.sub(rf"\g<1>{REDACTED}\g<3>", text)
    return QUERY_PARAMETER.sub(rf"\g<1>{REDACTED}", text)


def redact(value: Any) -> Any:
    """A copy of `value` (text, or JSON-like data) with every secret redacted."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {
            key: REDACTED
            if isinstance(key, str) and key.lower() in SECRET_FIELDS and item
            else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


def redact_file(path: Path) -> bool:
    """Rewrite a text file redacted; True when anything changed (binary files are left)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return False
    cleaned = redact_text(text)
    if cleaned != text:
        path.write_text(cleaned, encoding="utf-8")
    return cleaned != text


def register_json(data: Any) -> None:
    """Register the secrets in a JSON document: secret-named fields and URL parameters."""
    if isinstance(data, Mapping):
        for key, item in data.items():
            if isinstance(key, str) and key.lower() in SECRET_FIELDS:
                RUN_SECRETS.add(item)
            register_json(item)
    elif isinstance(data, list):
        for item in data:
            register_json(item)
    elif isinstance(data, str) and "?" in data and "://" in data:
        register_url(data)


def register_url(url: str) -> None:
    for name, value in parse_qsl(urlsplit(url).query):
        if name.lower() in SECRET_PARAMETERS:
            RUN_SECRETS.add(value)


def register_body(content: bytes) -> None:
    try:
        register_json(json.loads(content))
    except (ValueError, UnicodeDecodeError):
        return


def register_stack_secrets(platform: Any) -> None:
    """The stack's own secrets (the platform's `secret(name)`) join the run's secrets."""
    from harness.platform.runtime import SECRET_NAMES

    for name in SECRET_NAMES:
        try:
            RUN_SECRETS.add(platform.secret(name))
        except Exception:  # a backend that does not hold this secret
            continue


def redact_tree(root: Path, keep: tuple[str, ...] = ()) -> list[Path]:
    """Redact every text file under `root` but those under the folders `keep`; the
    files that changed."""
    changed = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.relative_to(root).parts[:1] in {(k,) for k in keep}:
            continue
        if redact_file(path):
            changed.append(path)
    return changed
