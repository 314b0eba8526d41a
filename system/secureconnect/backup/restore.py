"""`python -m secureconnect.backup restore|list`: the operator's side, no harness needed.

    restore --backup <key|latest> --target-db <name>
        creates the database <name> (it must not exist: a restore never
        overwrites), streams the backup from S3 into pg_restore, and drops the
        new database again if the restore fails, so a retry starts clean.
    list
        prints the finished backups, newest first: key, bytes, time.

Configuration is the scheduler's (SC_DB_*, SC_S3_*, SC_BACKUP_BUCKET). The
DB role needs CREATEDB; objects are restored owned by that role
(--no-owner), privileges as in the dump are not replayed (--no-privileges).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import ssl
import sys
from collections.abc import Sequence

import asyncpg

from secureconnect.backup.archive import BackupArchive
from secureconnect.backup.pgtools import PgProcess, find_program, libpq_env
from secureconnect.backup.settings import BackupSettings
from secureconnect.common.errors import DomainError
from secureconnect.common.s3 import ResilientS3

#: Names accepted for a target database (unquoted PostgreSQL identifiers).
DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
#: How long pg_restore may run, seconds.
RESTORE_TIMEOUT_S = 3600.0


async def _admin(settings: BackupSettings) -> asyncpg.Connection:
    context = None
    if settings.db_ssl_ca_file is not None:
        context = ssl.create_default_context(cafile=str(settings.db_ssl_ca_file))
    password = settings.db_password.get_secret_value() if settings.db_password else None
    try:
        return await asyncpg.connect(
            host=settings.db_host,
            port=settings.db_port,
            user=settings.db_user,
            password=password,
            database=settings.maintenance_db,
            ssl=context or False,
            timeout=settings.db_connect_timeout_s,
        )
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise DomainError(
            503, "database_unavailable", f"cannot connect to PostgreSQL: {exc}"
        ) from exc


async def create_database(settings: BackupSettings, name: str) -> None:
    if not DATABASE_NAME.match(name):
        raise DomainError(
            400, "invalid_database_name", f"{name!r} is not a plain lower-case database name"
        )
    conn = await _admin(settings)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    except asyncpg.DuplicateDatabaseError as exc:
        raise DomainError(
            409, "database_exists", f"database {name!r} exists; restore into a new one"
        ) from exc
    except asyncpg.InsufficientPrivilegeError as exc:
        raise DomainError(
            403, "cannot_create_database", f"role {settings.db_user!r} may not create databases"
        ) from exc
    finally:
        await conn.close()


async def drop_database(settings: BackupSettings, name: str) -> None:
    conn = await _admin(settings)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def stream_into_pg_restore(
    settings: BackupSettings, archive: BackupArchive, key: str, target: str
) -> None:
    argv = [
        find_program("pg_restore", settings.pg_bin_dir),
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--no-password",
        f"--dbname={target}",
    ]
    response = await archive.open(key)
    restore = PgProcess(argv, libpq_env(settings, target), feeds_stdin=True)
    try:
        assert restore.process.stdin is not None
        while chunk := await archive.read(response):
            try:
                await asyncio.to_thread(restore.process.stdin.write, chunk)
            except BrokenPipeError:
                break  # pg_restore gave up; its exit status says why
        await asyncio.to_thread(_close_quietly, restore.process.stdin)
        await asyncio.to_thread(restore.finish, RESTORE_TIMEOUT_S)
    finally:
        response.close()
        response.release_conn()
        await asyncio.to_thread(restore.close)


def _close_quietly(stream: object) -> None:
    with contextlib.suppress(BrokenPipeError):
        stream.close()  # type: ignore[attr-defined]


async def restore(settings: BackupSettings, backup: str, target: str) -> str:
    """Restore backup `backup` into the new database `target`; returns the backup's key."""
    s3 = ResilientS3(settings, settings.service_name)
    try:
        archive = BackupArchive(s3, settings.backup_bucket)
        key = await archive.resolve(backup)
        await create_database(settings, target)
        try:
            await stream_into_pg_restore(settings, archive, key, target)
        except BaseException:
            # Best effort: the restore's own error is the one to report.
            with contextlib.suppress(Exception):
                await drop_database(settings, target)
            raise
        return key
    finally:
        await s3.close()


async def list_backups(settings: BackupSettings) -> list[str]:
    s3 = ResilientS3(settings, settings.service_name)
    try:
        backups = await BackupArchive(s3, settings.backup_bucket).list()
    finally:
        await s3.close()
    return [
        f"{b.key}\t{b.size}\t{b.created_at.isoformat() if b.created_at else '-'}" for b in backups
    ]


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m secureconnect.backup")
    commands = parser.add_subparsers(dest="command", required=True)
    restore_cmd = commands.add_parser("restore", help="restore a backup into a new database")
    restore_cmd.add_argument("--backup", required=True, help='a backup key, or "latest"')
    restore_cmd.add_argument("--target-db", required=True, help="name of the database to create")
    commands.add_parser("list", help="list the backups, newest first")
    args = parser.parse_args(argv)
    try:
        settings = BackupSettings()
        if args.command == "list":
            print("\n".join(asyncio.run(list_backups(settings))))
            return 0
        key = asyncio.run(restore(settings, args.backup, args.target_db))
    except DomainError as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    except ValueError as exc:  # settings that do not validate
        print(f"error: configuration: {exc}", file=sys.stderr)
        return 2
    print(f"restored {key} into database {args.target_db}")
    return 0
