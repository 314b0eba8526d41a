"""The rules of file storage.

Upload. `upload_url` checks the size against the per-file limit and the
owner's quota (completed files plus live reservations) and, if it fits,
reserves it with a pending row and hands out a presigned S3 PUT for
`uploads/<id>`, valid UPLOAD_URL_TTL_S. Over quota → 413 and nothing is
reserved. The reservation lapses COMPLETE_GRACE_S after the URL expires.

Complete. One HEAD of the upload: missing → 409, another size → 409;
otherwise the file is available and its size counts as used. Completing
twice answers like the first time. Encryption at rest follows as a
background job (janitor.py; format and keys in envelope.py).

Download. A short-lived signed link to the decrypting `content` route
(links.py), which streams the authenticated plaintext: the bytes read back
are exactly the bytes uploaded, while S3 only ever keeps ciphertext.

Ownership. Every lookup names the owner: someone else's file is a 404.
While the S3 circuit breaker is open, routes that need S3 answer 503 at
once; listing and quota come from PostgreSQL and keep working.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from secureconnect.common.clock import Clock
from secureconnect.common.errors import DomainError
from secureconnect.storage.envelope import MasterKey
from secureconnect.storage.janitor import Janitor
from secureconnect.storage.links import LinkSigner
from secureconnect.storage.models import AVAILABLE, PENDING
from secureconnect.storage.objects import ObjectStore, staging_key
from secureconnect.storage.settings import StorageSettings
from secureconnect.storage.store import FileRecord, FileStore

#: Lifetime of a presigned upload URL, seconds.
UPLOAD_URL_TTL_S = 300
#: How long after the upload URL expires `complete` is still accepted, seconds.
COMPLETE_GRACE_S = 900
#: Lifetime of a download link, seconds.
DOWNLOAD_URL_TTL_S = 300


def not_found() -> DomainError:
    return DomainError(404, "not_found", "no such file")


@dataclass(frozen=True)
class Upload:
    """A reserved file and where to PUT its bytes, until `expires_in` seconds from now."""

    file_id: uuid.UUID
    url: str
    expires_in: int


@dataclass(frozen=True)
class Quota:
    used_bytes: int
    #: Declared sizes of uploads in progress, held against the limit.
    reserved_bytes: int
    limit_bytes: int


class StorageService:
    def __init__(
        self,
        settings: StorageSettings,
        files: FileStore,
        objects: ObjectStore,
        master_key: MasterKey,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.files = files
        self.objects = objects
        self.master_key = master_key
        self.links = LinkSigner(master_key.url_key, clock)
        self.janitor = Janitor(files, objects, master_key, clock)
        self.clock = clock

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.now(), UTC)

    async def upload_url(
        self, owner_id: uuid.UUID, filename: str, content_type: str, size: int
    ) -> Upload:
        limit = self.settings.storage_max_file_bytes
        if size > limit:
            raise DomainError(413, "file_too_large", f"files may have at most {limit} bytes")
        self.objects.s3.check_available("upload_url")
        now, file_id = self._now(), uuid.uuid4()
        upload_expires_at = now + timedelta(seconds=UPLOAD_URL_TTL_S)
        record = FileRecord(
            id=file_id,
            owner_id=owner_id,
            filename=filename,
            content_type=content_type,
            size=size,
            status=PENDING,
            created_at=now,
            upload_expires_at=upload_expires_at,
            complete_by=upload_expires_at + timedelta(seconds=COMPLETE_GRACE_S),
            staging_key=staging_key(file_id),
            object_key=None,
            wrapped_key=None,
            key_id=None,
        )
        await self.files.reserve(record, self.settings.storage_quota_bytes, now)
        url = self.objects.upload_url(staging_key(file_id), UPLOAD_URL_TTL_S)
        return Upload(file_id, url, UPLOAD_URL_TTL_S)

    async def complete(self, owner_id: uuid.UUID, file_id: uuid.UUID) -> FileRecord:
        record = await self._owned(owner_id, file_id)
        if record.status == AVAILABLE:
            return record
        if record.complete_by <= self._now():
            raise DomainError(409, "upload_expired", "the upload was not completed in time")
        self.objects.s3.check_available("complete")
        assert record.staging_key is not None
        await self.objects.check_upload(record.staging_key, record.size)
        if await self.files.mark_available(record, self._now()):
            self.janitor.encrypt_soon(record)
        return await self._owned(owner_id, file_id)

    async def download_url(self, owner_id: uuid.UUID, file_id: uuid.UUID) -> tuple[str, int]:
        record = await self._owned(owner_id, file_id)
        if record.status != AVAILABLE:
            raise DomainError(409, "not_completed", "the upload has not been completed")
        self.objects.s3.check_available("download_url")
        expires, signature = self.links.sign(file_id, DOWNLOAD_URL_TTL_S)
        base = self.settings.public_base_url.rstrip("/")
        url = f"{base}/api/v1/files/{file_id}/content?expires={expires}&signature={signature}"
        return url, DOWNLOAD_URL_TTL_S

    async def content(
        self, file_id: uuid.UUID, expires: int, signature: str
    ) -> tuple[FileRecord, AsyncIterator[bytes]]:
        """The file and its plaintext, for a valid download link (no bearer token)."""
        self.links.verify(file_id, expires, signature)
        record = await self.files.get(file_id, owner_id=None)
        if record is None or record.status != AVAILABLE:
            raise not_found()
        self.objects.s3.check_available("content")
        if record.object_key is None:  # encryption still running
            assert record.staging_key is not None
            try:
                return record, await self.objects.uploaded(record.staging_key, record.size)
            except DomainError as exc:
                # The encryption finished (and dropped the upload) since the row was read.
                record = await self.files.get(file_id, owner_id=None)
                if exc.status != 404 or record is None or record.object_key is None:
                    raise
        assert record.wrapped_key is not None and record.key_id is not None
        dek = self.master_key.unwrap(record.wrapped_key, record.key_id, file_id.bytes)
        return record, await self.objects.decrypted(record.object_key, dek, file_id, record.size)

    async def get(self, owner_id: uuid.UUID, file_id: uuid.UUID) -> FileRecord:
        return await self._owned(owner_id, file_id)

    async def list(self, owner_id: uuid.UUID) -> list[FileRecord]:
        return await self.files.list(owner_id)

    async def quota(self, owner_id: uuid.UUID) -> Quota:
        usage = await self.files.usage(owner_id, self._now())
        return Quota(usage.used_bytes, usage.reserved_bytes, self.settings.storage_quota_bytes)

    async def delete(self, owner_id: uuid.UUID, file_id: uuid.UUID) -> None:
        """Objects first, then the row: a failure leaves a row to delete again, never an orphan."""
        record = await self._owned(owner_id, file_id)
        self.objects.s3.check_available("delete")
        keys = [key for key in (record.object_key, record.staging_key) if key]
        await asyncio.gather(*(self.objects.remove(key) for key in keys))
        if not await self.files.delete(file_id, owner_id):
            raise not_found()

    async def _owned(self, owner_id: uuid.UUID, file_id: uuid.UUID) -> FileRecord:
        record = await self.files.get(file_id, owner_id)
        if record is None:
            raise not_found()
        return record
