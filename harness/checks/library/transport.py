"""Checks that each data store demands authentication and, for PostgreSQL, verified TLS.

Each function raises AssertionError with a message naming the defect, and
records what it saw as evidence.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import asyncpg
import httpx
import redis

from harness.checks.evidence import EvidenceLog
from harness.platform import probes

CONNECT_TIMEOUT_S = 5.0


def tls_context(ca_file: Path) -> ssl.SSLContext:
    """TLS that trusts only the deployment's CA, verifying the host name."""
    return ssl.create_default_context(cafile=str(ca_file))


async def _pg_attempt(host: str, port: int, user: str, password: str, tls: object) -> str:
    """Connect once; return "ok:<ssl in use>" or the error class name."""
    try:
        conn = await asyncpg.connect(
            host=host,
            port=port,
            user=user,
            password=password,
            database="postgres",
            ssl=tls,
            timeout=CONNECT_TIMEOUT_S,
        )
    except (TimeoutError, OSError, asyncpg.PostgresError, ssl.SSLError) as exc:
        return type(exc).__name__
    try:
        in_use = await conn.fetchval("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        return f"ok:ssl={in_use}"
    finally:
        await conn.close()


async def postgres_requires_verified_tls(
    host: str, port: int, user: str, password: str, ca_file: Path, evidence: EvidenceLog
) -> None:
    plain = await _pg_attempt(host, port, user, password, False)
    foreign_ca = await _pg_attempt(host, port, user, password, ssl.create_default_context())
    verified = await _pg_attempt(host, port, user, password, tls_context(ca_file))
    evidence.note("plain TCP connection", plain)
    evidence.note("TLS trusting only public CAs", foreign_ca)
    evidence.note("TLS verifying the deployment CA", verified)
    assert not plain.startswith("ok"), "PostgreSQL accepted a plain-text (non-TLS) connection"
    assert verified == "ok:ssl=True", f"PostgreSQL TLS with the deployment CA failed: {verified}"
    assert not foreign_ca.startswith("ok"), (
        "PostgreSQL's certificate verified against public CAs: it is not the deployment's"
    )


def redis_requires_password(host: str, port: int, password: str, evidence: EvidenceLog) -> None:
    with redis.Redis(host=host, port=port, socket_timeout=CONNECT_TIMEOUT_S) as anonymous:
        try:
            anonymous.set("readiness:anonymous-write", "1")
            outcome = "accepted"
        except redis.AuthenticationError as exc:
            outcome = f"refused: {exc}"
    evidence.note("anonymous SET", outcome)
    assert outcome != "accepted", "Redis accepted a command without a password"
    with redis.Redis(
        host=host, port=port, password=password, socket_timeout=CONNECT_TIMEOUT_S
    ) as client:
        assert client.ping(), "Redis refused the configured password"


def s3_requires_signatures(
    endpoint: str, access_key: str, secret_key: str, evidence: EvidenceLog
) -> None:
    anonymous = httpx.get(f"http://{endpoint}/", timeout=CONNECT_TIMEOUT_S)
    evidence.http("unsigned ListBuckets", anonymous)
    assert anonymous.status_code in (401, 403), (
        f"S3 answered an unsigned request with {anonymous.status_code}, not 403"
    )
    try:
        probes.s3_list_buckets(endpoint, access_key, "not-the-secret")
        forged = "accepted"
    except Exception as exc:  # minio raises S3Error with the server's code
        forged = f"refused: {getattr(exc, 'code', type(exc).__name__)}"
    evidence.note("request signed with a wrong secret", forged)
    assert forged != "accepted", "S3 accepted a request signed with the wrong secret"
    probes.s3_list_buckets(endpoint, access_key, secret_key)


def _turn_outcome(host: str, port: int, username: str, password: str) -> str:
    try:
        relayed = probes.turn_allocate(host, port, username, password)
    except Exception as exc:  # aioice raises TransactionFailed with the STUN error
        return f"refused: {exc}"
    return f"allocated {relayed[0]}:{relayed[1]}"


def turn_uses_rest_secret(
    host: str, port: int, secret: str, evidence: EvidenceLog, ttl_s: int = 60
) -> None:
    """Generated credentials work; test:test, expired and forged ones do not."""
    good = probes.turn_credentials(secret, "readiness", ttl_s)
    cases = {
        "generated credentials": good,
        "test:test": ("test", "test"),
        "expired credentials": probes.turn_credentials(secret, "readiness", -ttl_s),
        "credentials from another secret": probes.turn_credentials("forged", "readiness", ttl_s),
    }
    outcomes = {name: _turn_outcome(host, port, *creds) for name, creds in cases.items()}
    for name, outcome in outcomes.items():
        evidence.note(f"TURN allocation with {name}", outcome)
    assert outcomes["generated credentials"].startswith("allocated"), (
        f"TURN refused freshly generated credentials: {outcomes['generated credentials']}"
    )
    accepted = [
        n for n, o in outcomes.items() if n != "generated credentials" and o.startswith("allocated")
    ]
    assert not accepted, f"TURN allocated a relay for {', '.join(accepted)}"
