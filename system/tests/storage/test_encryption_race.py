"""A download that read the file's row just before its encryption finished still
gets the file: the plaintext upload it went for is gone, the ciphertext is there."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import uuid
from collections.abc import AsyncIterator

import pytest
from secureconnect.common.clock import SYSTEM_CLOCK
from secureconnect.common.db import Database
from secureconnect.common.s3 import ResilientS3
from secureconnect.storage.envelope import MasterKey
from secureconnect.storage.objects import ObjectStore, staging_key
from secureconnect.storage.service import StorageService
from secureconnect.storage.settings import StorageSettings
from secureconnect.storage.store import FileRecord, FileStore

from harness.platform.base import Platform
from tests.helpers import database_settings, eventually
from tests.storage.files import FILES, Session, s3_direct, stored_objects, upload


class RowReadBeforeEncryption(FileStore):
    """Answers the first read with the row as it was before the encryption finished:
    the interleaving of a download with the janitor, made to happen every time."""

    stale_reads = 1

    async def get(self, file_id: uuid.UUID, owner_id: uuid.UUID | None) -> FileRecord | None:
        record = await super().get(file_id, owner_id)
        if record is None or self.stale_reads == 0:
            return record
        self.stale_reads -= 1
        return dataclasses.replace(record, object_key=None, wrapped_key=None, key_id=None)


def _settings(stack: Platform) -> StorageSettings:
    return StorageSettings(
        **database_settings(stack),
        s3_endpoint=f"http://{stack.endpoint('s3').proxy_listen}",
        s3_access_key=stack.secret("s3_access_key"),
        s3_secret_key=stack.secret("s3_secret_key"),
        storage_encryption_key=stack.secret("storage_encryption_key"),
    )


@pytest.fixture
async def racing_service(stack: Platform) -> AsyncIterator[StorageService]:
    settings = _settings(stack)
    db = Database(settings, "storage-race")
    s3 = ResilientS3(settings, "storage-race", SYSTEM_CLOCK)
    master_key = MasterKey.from_secret(settings.encryption_secret())
    objects = ObjectStore(s3, settings.s3_bucket)
    yield StorageService(settings, RowReadBeforeEncryption(db), objects, master_key, SYSTEM_CLOCK)
    await s3.close()
    await db.close()


async def test_a_download_racing_the_encryption_gets_the_file(
    alice: Session, racing_service: StorageService, stack: Platform
) -> None:
    file_id, data = await upload(alice, os.urandom(50_000))

    async def encrypted() -> bool:
        about = await alice.client.get(f"{FILES}/{file_id}", headers=alice.headers)
        return about.json()["encrypted_at_rest"]

    await eventually(encrypted, 10, "the completed upload encrypted at rest")
    s3, staged = s3_direct(stack), staging_key(uuid.UUID(file_id))

    async def plaintext_gone() -> bool:
        return not await asyncio.to_thread(stored_objects, s3, staged)

    await eventually(plaintext_gone, 10, "the plaintext upload removed")
    expires, signature = racing_service.links.sign(uuid.UUID(file_id), 60)
    record, chunks = await racing_service.content(uuid.UUID(file_id), expires, signature)
    assert record.object_key is not None
    assert b"".join([chunk async for chunk in chunks]) == data
