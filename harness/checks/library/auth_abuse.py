"""Abuse of the auth flows, as strangers try it: guessing passwords, mass registration,
tokens with claims of the wrong type, sockets kept open past logout.

A stranger connects from a loopback address of its own (127.x.y.z, never the
harness's 127.0.0.1), so the product counts its attempts per address as it would
count any other client's; the harness's own clients are exempt from per-address
counting on the local stack (HARNESS_CLIENT_NETWORKS), as a deployment exempts its
load generators.
"""

from __future__ import annotations

import ipaddress
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt

LOGIN = "/api/v1/auth/login"
REGISTER = "/api/v1/auth/register"
WRONG_PASSWORD = "Not-The-Password-0"
#: A password the product's policy refuses (422 weak_password) after counting the attempt.
WEAK_PASSWORD = "short"
TIMEOUT_S = 10.0
JWT_ALGORITHM = "HS256"
JWT_ISSUER = "secureconnect"


def stranger_address() -> str:
    """A loopback address other than the harness's own (all of 127/8 is local on Linux)."""
    rng = random.SystemRandom()
    return f"127.{rng.randint(1, 254)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def user_address(gateway_url: str) -> str | None:
    """Where one user of the gateway connects from: a stranger's loopback address when
    the gateway is on loopback, else None (the machine's own route to it)."""
    host = httpx.URL(gateway_url).host
    try:
        on_loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        on_loopback = host == "localhost"
    return stranger_address() if on_loopback else None


@contextmanager
def stranger(gateway_url: str) -> Iterator[httpx.Client]:
    """A client of the gateway that connects from its own loopback address."""
    transport = httpx.HTTPTransport(local_address=stranger_address())
    with httpx.Client(base_url=gateway_url, transport=transport, timeout=TIMEOUT_S) as client:
        yield client


@dataclass
class Attempts:
    """What a run of attempts was answered, in order."""

    statuses: list[int] = field(default_factory=list)
    retry_after: list[str] = field(default_factory=list)

    def add(self, answer: httpx.Response) -> None:
        self.statuses.append(answer.status_code)
        self.retry_after.append(answer.headers.get("retry-after", ""))

    def first(self, status: int) -> int | None:
        """1-based index of the first answer with `status`."""
        return self.statuses.index(status) + 1 if status in self.statuses else None

    def summary(self) -> str:
        runs: list[str] = []
        for status in self.statuses:
            if runs and runs[-1].startswith(f"{status}×"):
                count = int(runs[-1].split("×")[1]) + 1
                runs[-1] = f"{status}×{count}"
            else:
                runs.append(f"{status}×1")
        return ", ".join(runs)


def until_refused(
    client: httpx.Client, path: str, bodies: Iterator[dict[str, Any]], cap: int
) -> Attempts:
    """POST the bodies until one is answered 429 or `cap` were sent."""
    attempts = Attempts()
    for body in bodies:
        attempts.add(client.post(path, json=body))
        if attempts.statuses[-1] == 429 or len(attempts.statuses) >= cap:
            break
    return attempts


def forged_token(key: str, **claims: Any) -> str:
    """A token signed with the stack's own key, its claims as given (for claim checks
    only: signature and issuer right, so only the claims can make it fail)."""
    now = int(time.time())
    payload = {
        "sub": "00000000-0000-4000-8000-000000000000",
        "sid": "forged-session",
        "jti": "forged-token",
        "iat": now,
        "exp": now + 300,
        "iss": JWT_ISSUER,
        **claims,
    }
    return jwt.encode(payload, key, algorithm=JWT_ALGORITHM)
