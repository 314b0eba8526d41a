"""Background work of the storage service: encrypting completed uploads, sweeping leftovers.

Encryption is a job, not part of the `complete` request: `complete` only
checks the upload (one HEAD), so it stays one S3 round trip even when S3 is
slow, and the job starts right after it answers. The job is driven by the
database, so it survives failures: a completed file without `object_key` is
picked up again by the sweep after ENCRYPT_RETRY_AFTER_S (S3 was down, the
process died...). Until the job is done, a download streams the upload as it
is (objects.py) — the plaintext is at rest for that window only.

The sweep also deletes plaintext upload objects for good: of encrypted files
once their upload URL has expired (a late re-PUT cannot leave plaintext
behind), and of reservations that lapsed without being completed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta

from secureconnect.common.clock import Clock
from secureconnect.common.errors import DomainError
from secureconnect.storage.envelope import MasterKey, new_data_key
from secureconnect.storage.objects import ObjectStore, new_object_key
from secureconnect.storage.store import FileRecord, FileStore

log = logging.getLogger(__name__)

#: Pause between sweeps, seconds.
SWEEP_INTERVAL_S = 15.0
#: A completed file still unencrypted after this long is re-encrypted by the sweep, seconds.
ENCRYPT_RETRY_AFTER_S = 30.0
#: How long shutdown waits for background jobs, seconds.
SHUTDOWN_DRAIN_S = 2.0


class Janitor:
    def __init__(
        self, files: FileStore, objects: ObjectStore, master_key: MasterKey, clock: Clock
    ) -> None:
        self.files = files
        self.objects = objects
        self.master_key = master_key
        self.clock = clock
        self._jobs: set[asyncio.Task[None]] = set()

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.now(), UTC)

    # -- jobs started by requests ---------------------------------------------
    def encrypt_soon(self, record: FileRecord) -> None:
        self._spawn(self.encrypt(record), f"encrypt {record.id}")

    def remove_soon(self, key: str) -> None:
        self._spawn(self.objects.remove(key), f"remove {key}")

    def _spawn(self, work: Awaitable[None], what: str) -> None:
        async def logged() -> None:
            try:
                await work
            except Exception as exc:  # the sweep retries what matters
                log.warning("background job failed", extra={"job": what, "error": repr(exc)})

        task = asyncio.create_task(logged())
        self._jobs.add(task)
        task.add_done_callback(self._jobs.discard)

    async def encrypt(self, record: FileRecord) -> None:
        """Encrypt a completed upload into a new object version, then drop the plaintext."""
        assert record.staging_key is not None
        dek, object_key = new_data_key(), new_object_key(record.id)
        try:
            await self.objects.encrypt_upload(
                record.staging_key, record.size, dek, record.id, object_key
            )
        except DomainError as exc:
            if exc.code in ("size_mismatch", "upload_missing"):
                # Re-uploaded or removed since `complete` checked it: it is pending again.
                await self.files.reopen(record.id)
            raise
        wrapped = self.master_key.wrap(dek, record.id.bytes)
        if await self.files.set_encrypted(record.id, object_key, wrapped, self.master_key.key_id):
            self.remove_soon(record.staging_key)  # early; the sweep makes it final
        else:  # deleted meanwhile, or another job won: this version is surplus
            await self.objects.remove(object_key)

    # -- the sweep --------------------------------------------------------------
    async def sweep_once(self) -> int:
        """Re-run lost encryptions, delete dead upload objects; returns how many rows."""
        now = self._now()
        stuck = await self.files.unencrypted(now - timedelta(seconds=ENCRYPT_RETRY_AFTER_S))
        for record in stuck:
            try:
                await self.encrypt(record)
            except DomainError as exc:
                log.warning(
                    "encryption retry failed", extra={"file_id": str(record.id), "error": exc.code}
                )
        due = await self.files.staging_due(now)
        for record in due:
            assert record.staging_key is not None
            await self.objects.remove(record.staging_key)
            await self.files.staging_removed(record.id, now)
        return len(stuck) + len(due)

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL_S)
            try:
                handled = await self.sweep_once()
            except DomainError as exc:
                log.warning("sweep interrupted", extra={"error": exc.code})
                continue
            if handled:
                log.info("sweep done", extra={"rows": handled})

    async def close(self) -> None:
        """Give running jobs a moment; the sweep redoes whatever is cut short."""
        if self._jobs:
            await asyncio.wait(list(self._jobs), timeout=SHUTDOWN_DRAIN_S)
        for task in list(self._jobs):
            task.cancel()
