"""TURN credentials (coturn's REST-secret scheme) and the TURN readiness probe.

coturn runs with `use-auth-secret`: it accepts any username of the form
`<expiry epoch seconds>:<user id>` whose password is
base64(HMAC-SHA1(shared secret, username)), until the expiry passes. So
credentials are minted here, per user, without talking to coturn, and die on
their own after TURN_CREDENTIAL_TTL_S (the expiry is read from the injected
clock, so tests move time instead of waiting).

The probe makes a real TURN Allocate with freshly minted credentials: it
proves both that coturn answers and that it accepts our secret. Its result
is cached for TURN_PROBE_CACHE_S so /ready stays cheap.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from aioice.turn import create_turn_endpoint

from secureconnect.common.clock import Clock
from secureconnect.common.health import Dependency, DependencyState

log = logging.getLogger(__name__)

#: How long minted TURN credentials stay valid, seconds.
TURN_CREDENTIAL_TTL_S = 6 * 3600
#: The readiness probe's own credentials: just long enough for one allocation.
TURN_PROBE_CREDENTIAL_TTL_S = 60
#: Budget of one probe allocation, seconds (under /ready's per-check budget).
TURN_PROBE_TIMEOUT_S = 1.0
#: How long a probe result is reused, seconds.
TURN_PROBE_CACHE_S = 5.0
TURN_PROBE_USER = "video-readiness-probe"


@dataclass(frozen=True)
class TurnCredential:
    urls: list[str]
    username: str
    credential: str
    ttl: int


def rest_credential(secret: str, username: str) -> str:
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class TurnCredentials:
    def __init__(
        self, secret: str, urls: list[str], clock: Clock, ttl_s: int = TURN_CREDENTIAL_TTL_S
    ) -> None:
        self._secret = secret
        self.urls = list(urls)
        self.clock = clock
        self.ttl_s = ttl_s

    def issue(self, user: uuid.UUID | str, ttl_s: int | None = None) -> TurnCredential:
        ttl = self.ttl_s if ttl_s is None else ttl_s
        username = f"{int(self.clock.now()) + ttl}:{user}"
        return TurnCredential(self.urls, username, rest_credential(self._secret, username), ttl)


def udp_server(urls: list[str]) -> tuple[str, int] | None:
    """(host, port) of the first `turn:` URL over UDP, which the probe allocates on."""
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme != "turn":
            continue
        address, _, query = parts.path.partition("?")
        transport = parse_qs(query or parts.query).get("transport", ["udp"])[0]
        host, _, port = address.rpartition(":")
        if transport == "udp" and host:
            return host.strip("[]"), int(port or 3478)
    return None


class _Released(asyncio.DatagramProtocol):
    """Learns when the allocation is deleted (connection_lost after the Refresh, lifetime 0)."""

    def __init__(self) -> None:
        self.released = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.released.done():
            self.released.set_result(None)


async def allocate(server: tuple[str, int], username: str, password: str) -> None:
    """One real TURN Allocate, deleted again; raises when coturn does not answer or refuses.

    The delete is awaited: an allocation left to expire holds one of coturn's relay ports
    for its whole lifetime (10 minutes), and probes every few seconds would exhaust them."""
    async with asyncio.timeout(TURN_PROBE_TIMEOUT_S):
        transport, protocol = await create_turn_endpoint(_Released, server, username, password)
    transport.close()
    with contextlib.suppress(TimeoutError):  # coturn frees it at expiry anyway
        async with asyncio.timeout(TURN_PROBE_TIMEOUT_S):
            await protocol.released


def turn_dependency(credentials: TurnCredentials, probe_url: str | None = None) -> Dependency:
    """Down when no TURN URL is configured or coturn refuses our credentials.
    Not required: calls still connect directly (or through the SFU) without TURN.
    `probe_url`: where to check from, when clients' URLs are not reachable from here."""
    server = udp_server([probe_url] if probe_url else credentials.urls)
    cache: list[tuple[float, DependencyState]] = []  # (when, state) of the last probe

    async def check() -> DependencyState:
        now = credentials.clock.monotonic()
        if server is None:
            return DependencyState.DOWN
        if cache and now - cache[0][0] < TURN_PROBE_CACHE_S:
            return cache[0][1]
        probe = credentials.issue(TURN_PROBE_USER, TURN_PROBE_CREDENTIAL_TTL_S)
        try:
            await allocate(server, probe.username, probe.credential)
            state = DependencyState.OK
        except Exception as exc:  # refused, timed out, unreachable: all mean "no TURN"
            log.warning("turn probe failed", extra={"error": repr(exc)})
            state = DependencyState.DOWN
        cache[:] = [(now, state)]
        return state

    return Dependency("turn", check, required=False)
