"""Health probes: each raises with a reason when the component is not ready yet."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import hashlib
import hmac
import socket
import ssl
import time
import warnings
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import redis
import urllib3
from aioice import stun
from aioice.turn import create_turn_endpoint
from minio import Minio

T = TypeVar("T")

PROBE_TIMEOUT_S = 2.0
TURN_PROBE_CREDENTIAL_TTL_S = 60


def tcp(host: str, port: int) -> None:
    with socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S):
        pass


def http_ok(url: str) -> None:
    response = httpx.get(url, timeout=PROBE_TIMEOUT_S)
    if response.status_code != 200:
        raise ConnectionError(f"GET {url} answered {response.status_code}")


def redis_ping(host: str, port: int, password: str) -> None:
    client = redis.Redis(host=host, port=port, password=password, socket_timeout=PROBE_TIMEOUT_S)
    try:
        client.ping()
    finally:
        client.close()


def postgres_tls(host: str, port: int, user: str, password: str, ca_file: Path) -> None:
    """Connect with TLS and full certificate verification, and run a query."""

    async def check() -> None:
        context = ssl.create_default_context(cafile=str(ca_file))
        conn = await asyncpg.connect(
            host=host,
            port=port,
            user=user,
            password=password,
            database="postgres",
            ssl=context,
            timeout=PROBE_TIMEOUT_S,
        )
        try:
            await conn.fetchval("SELECT 1")
        finally:
            await conn.close()

    _run_probe(check())


def _run_probe(probe: Coroutine[Any, Any, T]) -> T:
    """Run an asyncio probe, collecting what its failure left behind right away.

    asyncpg's connect can drop its transport without closing it when a dying
    server (or docker's port proxy in front of a stopped container) cuts the
    handshake short; collected later, its ResourceWarning would surface in
    whatever test happens to run then. The probe's failure is its answer.
    """
    try:
        return asyncio.run(probe)
    except BaseException:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
        raise


def s3_list_buckets(endpoint: str, access_key: str, secret_key: str) -> None:
    """A SigV4-signed request, so a server that ignores auth would still be caught."""
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=PROBE_TIMEOUT_S, read=PROBE_TIMEOUT_S),
        retries=urllib3.Retry(total=0),
    )
    Minio(endpoint, access_key, secret_key, secure=False, http_client=http).list_buckets()


def turn_credentials(
    secret: str, user: str, ttl_s: int, now: float | None = None
) -> tuple[str, str]:
    """coturn's REST-secret scheme: username `expiry:user`, password base64(HMAC-SHA1)."""
    expiry = int((now if now is not None else time.time()) + ttl_s)
    username = f"{expiry}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


class _TurnReleased(asyncio.DatagramProtocol):
    """Learns when a TURN allocation is deleted (connection_lost after its release)."""

    def __init__(self) -> None:
        self.released = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.released.done():
            self.released.set_result(None)


def turn_allocate(host: str, port: int, username: str, password: str) -> tuple[str, int]:
    """A real TURN Allocate with long-term credentials, released again; the relayed address.

    The release is awaited before the loop ends: asyncio.run would cancel it, and every
    probe (one per check, from the steady-state guard) would hold a relay port of coturn
    for the allocation's 10 minutes until none is left."""

    async def allocate() -> tuple[str, int]:
        transport, protocol = await asyncio.wait_for(
            create_turn_endpoint(_TurnReleased, (host, port), username, password),
            timeout=PROBE_TIMEOUT_S * 2,
        )
        try:
            return tuple(transport.get_extra_info("sockname"))  # type: ignore[return-value]
        finally:
            transport.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(protocol.released, PROBE_TIMEOUT_S)

    return _run_probe(allocate())


def stun_binding(host: str, port: int) -> None:
    """A STUN Binding request over UDP answered: a TURN server is alive, no credentials
    needed (the probe of a TURN server whose secret is not at hand)."""
    request = stun.Message(stun.Method.BINDING, stun.Class.REQUEST)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(PROBE_TIMEOUT_S)
        sock.sendto(bytes(request), (host, port))
        answer = stun.parse_message(sock.recv(2048))
    if answer.transaction_id != request.transaction_id:
        raise ConnectionError(f"TURN server at {host}:{port} answered another transaction")
