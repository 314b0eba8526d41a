"""Backups on the real stack: taken on schedule, restored by the operator's command,
and reported unhealthy when they stop.

The restore runs `python -m secureconnect.backup restore` as an operator would:
a separate process configured only by SC_* variables and secret files.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
from secureconnect.backup.scheduler import HEALTH_FACTOR

from harness.faults.injector import FaultInjector
from harness.platform.base import Platform
from harness.platform.components.datastores import APP_DATABASE, POSTGRES_USER
from harness.platform.components.services import BACKUP_INTERVAL_S
from tests.helpers import eventually, register
from tests.storage.files import component_metric, metric_sum

#: Longest a restore command may take here, seconds.
RESTORE_DEADLINE_S = 60


@pytest.fixture
def operator_env(stack: Platform, tmp_path: Path) -> dict[str, str]:
    """What an operator sets to run the backup commands against this stack."""

    def secret_file(name: str) -> str:
        path = tmp_path / name
        path.write_text(stack.secret(name))
        path.chmod(0o600)
        return str(path)

    db_host, db_port = stack.endpoint("postgres").address.rsplit(":", 1)
    return {
        "PATH": os.environ.get("PATH", ""),
        "SC_ENVIRONMENT": "test",
        "SC_SERVICE_NAME": "backup-cli",
        "SC_DB_HOST": db_host,
        "SC_DB_PORT": db_port,
        "SC_DB_NAME": APP_DATABASE,
        "SC_DB_USER": POSTGRES_USER,
        "SC_DB_PASSWORD_FILE": secret_file("postgres_superuser_password"),
        "SC_DB_SSL_CA_FILE": str(stack.ca_certificate()),
        "SC_S3_ENDPOINT": f"http://{stack.endpoint('s3').address}",
        "SC_S3_ACCESS_KEY_FILE": secret_file("s3_access_key"),
        "SC_S3_SECRET_KEY_FILE": secret_file("s3_secret_key"),
    }


def backup_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "secureconnect.backup", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=RESTORE_DEADLINE_S,
    )


@pytest.fixture
async def superuser(stack: Platform) -> AsyncIterator[asyncpg.Connection]:
    conn = await connect(stack, "postgres")
    try:
        yield conn
    finally:
        await conn.close()


async def connect(stack: Platform, database: str) -> asyncpg.Connection:
    host, port = stack.endpoint("postgres").address.rsplit(":", 1)
    return await asyncpg.connect(
        host=host,
        port=int(port),
        user=POSTGRES_USER,
        password=stack.secret("postgres_superuser_password"),
        database=database,
        ssl=ssl.create_default_context(cafile=str(stack.ca_certificate())),
    )


async def user_rows(stack: Platform, database: str) -> list[tuple[str, str]]:
    conn = await connect(stack, database)
    try:
        rows = await conn.fetch("SELECT id::text, email FROM users ORDER BY id")
    finally:
        await conn.close()
    return [(row["id"], row["email"]) for row in rows]


def backups_since(env: dict[str, str], since: float) -> list[str]:
    """Finished backups whose run started after `since` (epoch seconds), newest first."""
    listed = backup_command(env, "list")
    assert listed.returncode == 0, listed.stderr
    stamp = datetime.fromtimestamp(since, UTC).strftime("%Y%m%dT%H%M%S%fZ")
    keys = [line.split("\t")[0] for line in listed.stdout.splitlines() if line]
    return [key for key in keys if key.rsplit("-", 1)[1] > f"{stamp}.dump"]


async def test_restore_brings_back_the_rows_of_backup_time(
    stack: Platform, operator_env: dict[str, str], superuser: asyncpg.Connection
) -> None:
    async with httpx.AsyncClient(base_url=stack.endpoint("gateway").url or "") as gateway:
        await register(gateway)
        at_backup = await user_rows(stack, APP_DATABASE)
        since = time.time()

        async def backup_taken() -> list[str]:
            return await asyncio.to_thread(backups_since, operator_env, since)

        key = (await eventually(backup_taken, 4 * BACKUP_INTERVAL_S, "a backup after the rows"))[-1]
        assert await user_rows(stack, APP_DATABASE) == at_backup  # nothing moved meanwhile
        changed = await register(gateway)

    target = f"restore_{secrets.token_hex(6)}"
    try:
        restored = await asyncio.to_thread(
            backup_command, operator_env, "restore", "--backup", key, "--target-db", target
        )
        assert restored.returncode == 0, restored.stderr
        assert key in restored.stdout
        rows = await user_rows(stack, target)
        assert rows == at_backup
        assert changed["user_id"] not in {user_id for user_id, _ in rows}
        assert changed["user_id"] in {
            user_id for user_id, _ in await user_rows(stack, APP_DATABASE)
        }
    finally:
        await superuser.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')


async def test_restore_refuses_clearly(
    operator_env: dict[str, str], superuser: asyncpg.Connection
) -> None:
    cases = [
        (["--backup", "postgres/nothing-20000101T000000000000Z.dump"], "backup_not_found"),
        (["--backup", "latest", "--target-db", APP_DATABASE], "database_exists"),
        (["--backup", "latest", "--target-db", "Robert'); DROP"], "invalid_database_name"),
    ]
    for args, code in cases:
        if "--target-db" not in args:
            args = [*args, "--target-db", f"restore_{secrets.token_hex(6)}"]
        refused = await asyncio.to_thread(backup_command, operator_env, "restore", *args)
        assert refused.returncode == 1, refused.stdout
        assert refused.stderr.startswith(f"error: {code}: "), refused.stderr
        assert "Traceback" not in refused.stderr
    databases = {row["datname"] for row in await superuser.fetch("SELECT datname FROM pg_database")}
    assert not any(name.startswith("restore_") for name in databases)  # none left behind


async def test_health_turns_unhealthy_when_backups_stop(
    stack: Platform, faults: FaultInjector
) -> None:
    health_url = f"{stack.endpoint('backup').url}/health"
    async with httpx.AsyncClient(timeout=5) as client:
        assert (await client.get(health_url)).status_code == 200
        failures = await metric_sum(stack, "backup", "backup_failures_total")

        async def unhealthy() -> dict | None:
            answer = await client.get(health_url)
            return answer.json() if answer.status_code == 503 else None

        with faults.cut("s3"):
            deadline = (HEALTH_FACTOR + 2) * BACKUP_INTERVAL_S
            body = await eventually(unhealthy, deadline, "backup health turns 503")
        assert body["status"] == "unhealthy"
        assert "since the last good backup" in body["reason"]
        assert "storage_unavailable" in body["reason"]
        assert await metric_sum(stack, "backup", "backup_failures_total") > failures

        async def healthy() -> bool:
            return (await client.get(health_url)).status_code == 200

        await eventually(healthy, 4 * BACKUP_INTERVAL_S, "backup health recovers")
    last_success = await component_metric(
        stack, "backup", "backup_last_success_timestamp_seconds", service="backup"
    )
    assert time.time() - last_success < 2 * BACKUP_INTERVAL_S
