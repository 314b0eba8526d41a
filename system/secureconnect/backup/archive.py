"""Backups in S3: streamed in, listed, pruned, streamed out.

Layout in the backups bucket:

    postgres/<database>-<UTC timestamp>.dump           finished backups (pg_dump custom format)
    postgres/partial/<database>-<UTC timestamp>.dump   uploads in progress or abandoned

A dump is uploaded under `partial/` while pg_dump runs (multipart, in parts
of UPLOAD_PART_BYTES, so memory stays bounded whatever the database size)
and copied to its final key only once pg_dump has exited successfully; a
dump that failed half-way can therefore never be taken for a backup. Keys
sort by time, so "latest" is the greatest key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

from minio.commonconfig import CopySource
from urllib3 import BaseHTTPResponse

from secureconnect.common.errors import DomainError
from secureconnect.common.s3 import ResilientS3

PREFIX = "postgres/"
PARTIAL_PREFIX = f"{PREFIX}partial/"
#: Multipart part size of a streamed dump, bytes (S3's minimum is 5 MiB).
UPLOAD_PART_BYTES = 8 * 1024 * 1024
#: Bytes read from S3 per step while restoring.
DOWNLOAD_CHUNK_BYTES = 1024 * 1024
_STAMP = "%Y%m%dT%H%M%S%fZ"
_KEY_RE = re.compile(r"^(?:postgres/)?(?P<name>[A-Za-z0-9_.-]+-\d{8}T\d{12}Z\.dump)$")


@dataclass(frozen=True)
class BackupInfo:
    key: str
    size: int
    created_at: datetime | None


def backup_key(database: str, started_at: float) -> str:
    stamp = datetime.fromtimestamp(started_at, UTC).strftime(_STAMP)
    return f"{PREFIX}{database}-{stamp}.dump"


def partial_key(key: str) -> str:
    return PARTIAL_PREFIX + key.removeprefix(PREFIX)


class _CountingReader:
    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.bytes_read += len(data)
        return data


def no_such_backup(name: str) -> DomainError:
    return DomainError(404, "backup_not_found", f"no backup named {name!r}")


class BackupArchive:
    def __init__(self, s3: ResilientS3, bucket: str) -> None:
        self.s3 = s3
        self.bucket = bucket

    async def upload(self, key: str, stream: BinaryIO) -> int:
        """Stream `stream` to `partial/`; returns the bytes sent.

        Not retried: a pipe cannot be replayed; the next run starts afresh.
        """
        client, bucket, target = self.s3.client, self.bucket, partial_key(key)
        counted = _CountingReader(stream)
        await self.s3.call(
            "backup_upload",
            lambda: client.put_object(
                bucket, target, counted, length=-1, part_size=UPLOAD_PART_BYTES
            ),
            retry=False,
        )
        return counted.bytes_read

    async def publish(self, key: str) -> None:
        """Promote a finished upload from `partial/` to its final key."""
        client, bucket, source = self.s3.client, self.bucket, partial_key(key)
        await self.s3.call(
            "backup_publish", lambda: client.copy_object(bucket, key, CopySource(bucket, source))
        )
        await self.s3.remove(bucket, source)

    async def discard(self, key: str) -> None:
        await self.s3.remove(self.bucket, partial_key(key))

    async def list(self) -> list[BackupInfo]:
        """Finished backups, newest first."""
        client, bucket = self.s3.client, self.bucket

        def work() -> list[BackupInfo]:
            return [
                BackupInfo(o.object_name or "", o.size or 0, o.last_modified)
                for o in client.list_objects(bucket, prefix=PREFIX)
                if not o.is_dir and _KEY_RE.match(o.object_name or "")
            ]

        backups = await self.s3.call("backup_list", work)
        return sorted(backups, key=lambda b: b.key, reverse=True)

    async def prune(self, keep: int) -> list[str]:
        """Delete all but the `keep` newest backups, and abandoned partial uploads.

        Call it between runs only: it takes every partial upload for abandoned.
        """
        doomed = [backup.key for backup in (await self.list())[keep:]]
        doomed += await self._partials()
        for key in doomed:
            await self.s3.remove(self.bucket, key)
        return doomed

    async def _partials(self) -> list[str]:
        client, bucket = self.s3.client, self.bucket

        def work() -> list[str]:
            listing = client.list_objects(bucket, prefix=PARTIAL_PREFIX)
            return [o.object_name for o in listing if o.object_name and not o.is_dir]

        return await self.s3.call("backup_list", work)

    async def resolve(self, name: str) -> str:
        """The key of backup `name`: "latest", a full key, or a key without the prefix."""
        if name == "latest":
            backups = await self.list()
            if not backups:
                raise DomainError(404, "backup_not_found", "there are no backups yet")
            return backups[0].key
        match = _KEY_RE.match(name)
        if match is None:
            raise no_such_backup(name)
        return PREFIX + match.group("name")

    async def open(self, key: str) -> BaseHTTPResponse:
        return await self.s3.get_object(
            "backup_open", self.bucket, key, lambda: no_such_backup(key)
        )

    async def read(self, response: BaseHTTPResponse) -> bytes:
        """The next chunk of an opened backup; b"" at the end."""
        return await self.s3.run_blocking(
            "backup_read", lambda: response.read(DOWNLOAD_CHUNK_BYTES)
        )
