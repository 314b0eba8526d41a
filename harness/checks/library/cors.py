"""CORS: a foreign web origin must not be able to read the API with a user's credentials.

Two requests per path, both from a foreign Origin: a credentialed GET (a cookie and a
bearer token) and a preflight (OPTIONS asking for POST with Authorization). Neither
may answer `Access-Control-Allow-Origin: *` together with credentials, nor name the
foreign origin, nor let a preflight through. Where the deployment has an allow-list,
its origins get exactly their own origin back, with credentials and Authorization
allowed (else the product's own web client cannot call it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import httpx

from harness.checks.evidence import EvidenceLog
from harness.keepalive import LIMITS

FOREIGN_ORIGIN = "https://attacker.example"
PREFLIGHT_METHOD = "POST"
PREFLIGHT_HEADERS = "authorization, content-type"
TIMEOUT_S = 5.0


def credentialed(
    client: httpx.Client, path: str, origin: str, token: Mapping[str, str]
) -> httpx.Response:
    headers = {"Origin": origin, "Cookie": "session=readiness", **token}
    return client.get(path, headers=headers)


def preflight(client: httpx.Client, path: str, origin: str) -> httpx.Response:
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": PREFLIGHT_METHOD,
        "Access-Control-Request-Headers": PREFLIGHT_HEADERS,
    }
    return client.options(path, headers=headers)


def _allowed(response: httpx.Response) -> tuple[str | None, bool]:
    origin = response.headers.get("access-control-allow-origin")
    credentials = response.headers.get("access-control-allow-credentials", "").lower() == "true"
    return origin, credentials


def foreign_defects(where: str, response: httpx.Response, is_preflight: bool) -> list[str]:
    origin, credentials = _allowed(response)
    kind = "preflight" if is_preflight else "credentialed request"
    if origin == "*" and (credentials or is_preflight):
        return [
            f"{where}: {kind} answers Access-Control-Allow-Origin * (credentials: {credentials})"
        ]
    if origin is not None and origin.rstrip("/") == FOREIGN_ORIGIN:
        return [f"{where}: {kind} reflects the foreign origin (credentials: {credentials})"]
    return []


def allowed_defects(where: str, origin: str, answers: Sequence[httpx.Response]) -> list[str]:
    defects = []
    for response in answers:
        got, credentials = _allowed(response)
        if got != origin or not credentials:
            defects.append(
                f"{where}: the allowed origin {origin} got Access-Control-Allow-Origin {got!r} "
                f"(credentials: {credentials}, status {response.status_code})"
            )
    permitted = answers[0].headers.get("access-control-allow-headers", "").lower()
    if "authorization" not in permitted:
        defects.append(f"{where}: the preflight for {origin} does not allow Authorization")
    return defects


def cors_defects(
    name: str,
    url: str,
    paths: Sequence[str],
    token: Mapping[str, str],
    evidence: EvidenceLog,
    allowed_origins: Sequence[str] = (),
) -> list[str]:
    """Every path of one service: foreign origins refused, allowed ones served."""
    defects = []
    with httpx.Client(base_url=url, timeout=TIMEOUT_S, limits=LIMITS) as client:
        for path in paths:
            where = f"{name} {path}"
            asked = preflight(client, path, FOREIGN_ORIGIN)
            read = credentialed(client, path, FOREIGN_ORIGIN, token)
            evidence.http(f"{where} preflight from {FOREIGN_ORIGIN}", asked)
            evidence.http(f"{where} credentialed GET from {FOREIGN_ORIGIN}", read)
            defects += foreign_defects(where, asked, is_preflight=True)
            defects += foreign_defects(where, read, is_preflight=False)
            for origin in allowed_origins:
                answers = [
                    preflight(client, path, origin),
                    credentialed(client, path, origin, token),
                ]
                defects += allowed_defects(where, origin, answers)
    return defects
