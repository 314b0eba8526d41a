"""The backup steps: a write is in the next backup, and that backup restores.

    found = flows_backup.backup_after_write(stack, addresses, api, evidence)
    flows_backup.judge_restore(found, evidence)

The backups are read from the backup bucket with the deployment's S3 keys, and opened
with PostgreSQL's own pg_restore: to SQL text (is the message there?) and into a fresh
database on the stack's server (does it restore, every table, the message with it?).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import urllib3
from minio import Minio

from harness.checks.evidence import EvidenceLog
from harness.checks.library import transport
from harness.clients.api import ApiClient
from harness.clients.realtime import Chat
from harness.metrics import sample
from harness.platform import binaries
from harness.platform.base import Platform
from harness.waiting import eventually

#: The scheduler's bucket and the prefix of finished backups (`partial/` below it holds
#: uploads in progress).
BUCKET = "secureconnect-backups"
PREFIX = "postgres/"
STAMP = "%Y%m%dT%H%M%S%fZ"
#: How many backup intervals a new backup may take to appear (one to start, one to run).
INTERVALS_TO_WAIT = 3
RESTORE_TIMEOUT_S = 120.0
SUPERUSER = "postgres"
LIVE_DATABASE = "secureconnect"
PUBLIC_TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"

AddressOf = Callable[[str], tuple[str, int]]


@dataclass
class Backup:
    """The first backup started after a message was acknowledged, fetched to a file."""

    key: str
    dump: Path
    marker: str
    database: Callable[[str], dict[str, str]]  # database name → libpq environment


def _started_at(key: str) -> datetime:
    stamp = key.removeprefix(PREFIX).rsplit("-", 1)[1].removesuffix(".dump")
    return datetime.strptime(stamp, STAMP).replace(tzinfo=UTC)


def _first_after(client: Minio, since: datetime) -> str:
    """The first finished backup started after `since`; "" while there is none."""
    keys = [
        o.object_name or ""
        for o in client.list_objects(BUCKET, prefix=PREFIX)
        if not o.is_dir and (o.object_name or "").endswith(".dump")
    ]
    later = sorted(k for k in keys if _started_at(k) > since)
    return later[0] if later else ""


def _libpq(stack: Platform, host: str, port: int) -> Callable[[str], dict[str, str]]:
    def env(database: str) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", ""),
            "PGHOST": host,
            "PGPORT": str(port),
            "PGUSER": SUPERUSER,
            "PGPASSWORD": stack.secret("postgres_superuser_password"),
            "PGDATABASE": database,
            "PGSSLMODE": "verify-full",
            "PGSSLROOTCERT": str(stack.ca_certificate()),
        }

    return env


@contextmanager
def backup_after_write(
    stack: Platform, proxied: AddressOf, api: ApiClient, evidence: EvidenceLog
) -> Iterator[Backup]:
    """Send a message, wait for the first backup started after it, fetch it."""
    alice, bob = api.new_session(), api.new_session()
    chat = Chat(api, alice)
    marker = f"backup-marker-{uuid.uuid4().hex}"
    sent = chat.send(chat.conversation(bob), marker)
    assert sent.status_code == 201, f"send answered {sent.status_code}"
    since = datetime.now(UTC)
    s3_host, s3_port = proxied("s3")
    http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=5, read=60))
    client = Minio(
        f"{s3_host}:{s3_port}",
        stack.secret("s3_access_key"),
        stack.secret("s3_secret_key"),
        secure=False,
        http_client=http,
    )
    interval = sample(stack.endpoint("backup").url or "", "backup_interval_seconds")
    deadline = INTERVALS_TO_WAIT * interval
    started = time.monotonic()
    key = eventually(lambda: _first_after(client, since), deadline, 0.5, "a backup after a write")
    evidence.number("backup finished after the write", time.monotonic() - started, "s")
    evidence.note("backup", key)
    with tempfile.TemporaryDirectory(prefix="readiness-backup-") as folder:
        dump = Path(folder) / "backup.dump"
        client.fget_object(BUCKET, key, str(dump))
        evidence.number("backup size", dump.stat().st_size, "bytes")
        yield Backup(key, dump, marker, _libpq(stack, *proxied("postgres")))


def _pg_restore(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    program = binaries.find("pg_restore", "postgres")
    return subprocess.run(
        [program, *args], env=env, capture_output=True, text=True, timeout=RESTORE_TIMEOUT_S
    )


def judge_backup(backup: Backup, evidence: EvidenceLog) -> None:
    """The backup's messages hold the message acknowledged before it started."""
    listed = _pg_restore("--data-only", "--table=messages", "--file=-", str(backup.dump))
    assert listed.returncode == 0, f"pg_restore cannot read the backup: {listed.stderr[-500:]}"
    evidence.number("bytes of message data in the backup", len(listed.stdout))
    assert backup.marker in listed.stdout, "a message acknowledged before the backup is not in it"


@asynccontextmanager
async def _connected(env: dict[str, str], database: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(
        host=env["PGHOST"],
        port=int(env["PGPORT"]),
        user=SUPERUSER,
        password=env["PGPASSWORD"],
        database=database,
        ssl=transport.tls_context(Path(env["PGSSLROOTCERT"])),
    )
    try:
        yield conn
    finally:
        await conn.close()


async def _admin(env: dict[str, str], statement: str) -> None:
    async with _connected(env, "postgres") as conn:
        await conn.execute(statement)


async def _tables(env: dict[str, str], database: str) -> list[str]:
    async with _connected(env, database) as conn:
        return [r["tablename"] for r in await conn.fetch(PUBLIC_TABLES)]


async def _count(env: dict[str, str], database: str, marker: str) -> int:
    async with _connected(env, database) as conn:
        query = "SELECT count(*) FROM messages WHERE content = $1"
        return int(await conn.fetchval(query, marker))


def judge_restore(backup: Backup, evidence: EvidenceLog) -> None:
    """The backup restores into an empty database with every table of the live schema, and
    the message acknowledged before it."""
    target = f"restore_check_{uuid.uuid4().hex[:12]}"
    env = backup.database(target)
    asyncio.run(_admin(env, f'CREATE DATABASE "{target}"'))
    try:
        restored = _pg_restore(
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            f"--dbname={target}",
            str(backup.dump),
            env=env,
        )
        evidence.log("pg_restore", restored.stderr or "(no output)")
        assert restored.returncode == 0, f"the backup does not restore: {restored.stderr[-500:]}"
        live, got = (asyncio.run(_tables(env, db)) for db in (LIVE_DATABASE, target))
        evidence.note("tables live / restored", f"{live} / {got}")
        assert got == live, f"restored tables differ: missing {sorted(set(live) - set(got))}"
        found = asyncio.run(_count(env, target, backup.marker))
        assert found == 1, f"the restored database holds the message {found} times"
    finally:
        asyncio.run(_admin(env, f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)'))


STEPS: dict[str, Callable[[Backup, EvidenceLog], None]] = {
    "the first backup after a write holds it": judge_backup,
    "that backup restores into an empty database, every table and the write with it": (
        judge_restore
    ),
}
