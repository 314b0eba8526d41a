"""File rows in PostgreSQL: reservations, completion, ownership, sweeping.

Every query that reads or changes one file names its owner too, so a file of
someone else is indistinguishable from one that does not exist (no IDOR).
Reservations are serialised per owner with a transaction-scoped advisory
lock, so two concurrent upload-url requests cannot both squeeze under the
quota. A read of one statement runs outside a transaction (`Database.read`:
one round trip); these tables have no row-level security.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from secureconnect.common.db import Database
from secureconnect.common.errors import DomainError
from secureconnect.storage.models import AVAILABLE, PENDING, files

#: Rows the sweeper handles per pass.
SWEEP_BATCH = 100


@dataclass(frozen=True)
class FileRecord:
    id: uuid.UUID
    owner_id: uuid.UUID
    filename: str
    content_type: str
    size: int
    status: str
    created_at: datetime
    upload_expires_at: datetime
    complete_by: datetime
    staging_key: str | None
    object_key: str | None
    wrapped_key: bytes | None
    key_id: str | None


@dataclass(frozen=True)
class Usage:
    used_bytes: int
    reserved_bytes: int


def _record(row: object) -> FileRecord:
    m = row._mapping  # type: ignore[attr-defined]
    return FileRecord(**{name: m[name] for name in FileRecord.__dataclass_fields__})


def _usage_query(owner_id: uuid.UUID, now: datetime):  # type: ignore[no-untyped-def]
    live_reservation = and_(files.c.status == PENDING, files.c.complete_by > now)
    return select(
        func.coalesce(func.sum(files.c.size).filter(files.c.status == AVAILABLE), 0),
        func.coalesce(func.sum(files.c.size).filter(live_reservation), 0),
    ).where(files.c.owner_id == owner_id)


class FileStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def reserve(self, record: FileRecord, limit_bytes: int, now: datetime) -> None:
        """Insert the pending row, or raise 413 and insert nothing if it would exceed quota."""

        async def work(session: AsyncSession) -> None:
            await session.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                {"key": f"storage-quota:{record.owner_id}"},
            )
            used, reserved = (await session.execute(_usage_query(record.owner_id, now))).one()
            if used + reserved + record.size > limit_bytes:
                raise DomainError(
                    413,
                    "quota_exceeded",
                    f"the upload would exceed your storage quota of {limit_bytes} bytes "
                    f"({used} used, {reserved} reserved by uploads in progress)",
                )
            values = {k: v for k, v in record.__dict__.items() if k != "created_at"}
            await session.execute(insert(files).values(**values))

        await self.db.run("file_reserve", work)

    async def usage(self, owner_id: uuid.UUID, now: datetime) -> Usage:
        async def work(connection: AsyncConnection) -> Usage:
            used, reserved = (await connection.execute(_usage_query(owner_id, now))).one()
            return Usage(int(used), int(reserved))

        return await self.db.read("file_usage", work)

    async def get(self, file_id: uuid.UUID, owner_id: uuid.UUID | None) -> FileRecord | None:
        """The file, if it exists and (when `owner_id` is given) belongs to that owner."""
        query = select(files).where(files.c.id == file_id)
        if owner_id is not None:
            query = query.where(files.c.owner_id == owner_id)

        async def work(connection: AsyncConnection) -> FileRecord | None:
            row = (await connection.execute(query)).first()
            return _record(row) if row else None

        return await self.db.read("file_get", work)

    async def list(self, owner_id: uuid.UUID) -> list[FileRecord]:
        query = select(files).where(files.c.owner_id == owner_id).order_by(files.c.created_at)
        return await self._records("file_list", query)

    async def mark_available(self, record: FileRecord, now: datetime) -> bool:
        """Pending → available (it counts as used from now); False if it was not pending."""
        statement = (
            update(files)
            .where(files.c.id == record.id, files.c.owner_id == record.owner_id)
            .where(files.c.status == PENDING)
            .values(status=AVAILABLE, completed_at=now)
            .returning(files.c.id)
        )
        return await self._changed("file_complete", statement)

    async def set_encrypted(
        self, file_id: uuid.UUID, object_key: str, wrapped_key: bytes, key_id: str
    ) -> bool:
        """Record the encrypted object; False if the file is gone or already encrypted."""
        statement = (
            update(files)
            .where(files.c.id == file_id, files.c.status == AVAILABLE)
            .where(files.c.object_key.is_(None))
            .values(object_key=object_key, wrapped_key=wrapped_key, key_id=key_id)
            .returning(files.c.id)
        )
        return await self._changed("file_encrypted", statement)

    async def reopen(self, file_id: uuid.UUID) -> None:
        """Available but unencrypted → pending: the upload changed under it (re-PUT)."""
        statement = (
            update(files)
            .where(files.c.id == file_id, files.c.status == AVAILABLE)
            .where(files.c.object_key.is_(None))
            .values(status=PENDING, completed_at=None)
            .returning(files.c.id)
        )
        await self._changed("file_reopen", statement)

    async def unencrypted(self, completed_before: datetime) -> list[FileRecord]:
        """Completed files whose encryption has not happened (it failed, or the process died)."""
        query = (
            select(files)
            .where(files.c.status == AVAILABLE, files.c.object_key.is_(None))
            .where(files.c.completed_at < completed_before)
            .order_by(files.c.completed_at)
            .limit(SWEEP_BATCH)
        )
        return await self._records("file_unencrypted", query)

    async def _changed(self, operation: str, statement: Any) -> bool:
        async def work(session: AsyncSession) -> bool:
            return (await session.execute(statement)).first() is not None

        return await self.db.run(operation, work)

    async def _records(self, operation: str, query: Any) -> list[FileRecord]:
        async def work(connection: AsyncConnection) -> list[FileRecord]:
            return [_record(row) for row in await connection.execute(query)]

        return await self.db.read(operation, work)

    async def delete(self, file_id: uuid.UUID, owner_id: uuid.UUID) -> bool:
        statement = (
            delete(files)
            .where(files.c.id == file_id, files.c.owner_id == owner_id)
            .returning(files.c.id)
        )
        return await self._changed("file_delete", statement)

    async def staging_due(self, now: datetime) -> list[FileRecord]:
        """Rows whose plaintext upload object can go for good.

        Encrypted files once their upload URL has expired (nothing can re-upload
        to it any more), reservations never completed once their deadline passed.
        """
        completed = and_(
            files.c.status == AVAILABLE,
            files.c.object_key.is_not(None),
            files.c.upload_expires_at < now,
        )
        abandoned = and_(files.c.status == PENDING, files.c.complete_by < now)
        query = (
            select(files)
            .where(files.c.staging_key.is_not(None), or_(completed, abandoned))
            .order_by(files.c.upload_expires_at)
            .limit(SWEEP_BATCH)
        )
        return await self._records("file_sweep_scan", query)

    async def staging_removed(self, file_id: uuid.UUID, now: datetime) -> None:
        """Forget the staging object; a reservation that was never completed goes too."""

        async def work(session: AsyncSession) -> None:
            await session.execute(
                delete(files).where(
                    files.c.id == file_id, files.c.status == PENDING, files.c.complete_by < now
                )
            )
            await session.execute(
                update(files)
                .where(files.c.id == file_id, files.c.status == AVAILABLE)
                .where(files.c.object_key.is_not(None))
                .values(staging_key=None)
            )

        await self.db.run("file_sweep_done", work)
