"""Valid HTTP/1.1 that browsers seldom send but other clients do, through the gateway
on one kept-alive connection (ROB-012): `Expect: 100-continue` (curl sends it with
any body over 1 KiB), a chunked request body, and each answer belonging to its own
request.

A proxy that forwards the client's expectation gets the upstream's interim
`100 Continue`, and if it takes that for the answer, the real answer stays on the
upstream connection for some other client's request to read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx

from harness.keepalive import CLIENT_KEEPALIVE_EXPIRY_S

LOGIN = "/api/v1/auth/login"
ME = "/api/v1/auth/me"
#: Requests after each unusual one, as a signed-in user (200): an answer left behind
#: on a desynchronised upstream connection (the login's 401) shows in these.
FOLLOW_UPS = 3


@dataclass(frozen=True)
class Exchange:
    request: str
    expected: int
    status: int | None
    #: What went wrong on the wire (a protocol error), "" when an answer came.
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == self.expected


def _wrong_login() -> bytes:
    body = {"email": "nobody-framing@example.com", "password": "not-the-password-1"}
    return json.dumps(body).encode()


def _chunks(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), 7):
        yield data[start : start + 7]


def exchanges(gateway_url: str, access_token: str) -> list[Exchange]:
    """Each unusual request (a wrong login: 401), then FOLLOW_UPS reads of the user's
    own profile (200), on one client connection."""
    me = {"Authorization": f"Bearer {access_token}"}
    unusual = {
        "login with Expect: 100-continue": {
            "content": _wrong_login(),
            "headers": {"Expect": "100-continue", "Content-Type": "application/json"},
        },
        "login with a chunked body": {
            "content": _chunks(_wrong_login()),
            "headers": {"Content-Type": "application/json"},
        },
    }
    seen: list[Exchange] = []
    limits = httpx.Limits(
        max_connections=1, max_keepalive_connections=1, keepalive_expiry=CLIENT_KEEPALIVE_EXPIRY_S
    )
    with httpx.Client(base_url=gateway_url, limits=limits, timeout=10) as client:
        for name, request in unusual.items():
            seen.append(_exchange(name, 401, lambda r=request: client.post(LOGIN, **r)))
            for n in range(FOLLOW_UPS):
                follow_up = f"then GET /me #{n + 1}"
                seen.append(_exchange(follow_up, 200, lambda: client.get(ME, headers=me)))
    return seen


def _exchange(name: str, expected: int, send: Callable[[], httpx.Response]) -> Exchange:
    try:
        return Exchange(name, expected, send().status_code)
    except httpx.HTTPError as exc:
        return Exchange(name, expected, None, f"{type(exc).__name__}: {exc}"[:200])
