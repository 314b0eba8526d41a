"""The backup schedule, one run, and what "healthy" means for a backup scheduler.

Every `backup_interval_s` (start to start; the first run right at start-up)
pg_dump writes the database in custom format to a pipe that is streamed to
S3 (archive.py), then the `backup_retention` newest backups are kept. A
failed run is retried after min(interval, FAILURE_RETRY_S).

Healthy means "recent backups exist", not "the process runs": /health turns
503 once the last successful backup (or the start of the process, before
the first one) is older than HEALTH_FACTOR × the interval, which is what an
orchestrator or alert should act on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

from prometheus_client import Counter, Gauge, Histogram

from secureconnect.backup.archive import BackupArchive, backup_key
from secureconnect.backup.pgtools import PgProcess, find_program, libpq_env
from secureconnect.backup.settings import BackupSettings
from secureconnect.common.clock import Clock
from secureconnect.common.errors import DomainError

log = logging.getLogger(__name__)

#: Unhealthy once the newest good backup is older than this many intervals.
HEALTH_FACTOR = 2
#: Longest wait before retrying after a failed run, seconds.
FAILURE_RETRY_S = 60.0
#: How long pg_dump may take to exit once its output has been uploaded, seconds.
DUMP_EXIT_WAIT_S = 30.0

BACKUP_LAST_SUCCESS = Gauge(
    "backup_last_success_timestamp_seconds", "When the last good backup finished", ["service"]
)
BACKUP_DURATION = Histogram(
    "backup_duration_seconds",
    "Duration of backup runs",
    ["service", "result"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600),
)
BACKUP_FAILURES = Counter("backup_failures_total", "Failed backup runs", ["service", "reason"])
BACKUP_LAST_SIZE = Gauge("backup_last_size_bytes", "Size of the last good backup", ["service"])
#: Exported so the BackupStale alert can compare a backup's age with the schedule.
BACKUP_INTERVAL = Gauge("backup_interval_seconds", "Time between scheduled backups", ["service"])


@dataclass(frozen=True)
class Health:
    healthy: bool
    reason: str
    last_success_at: float | None
    last_error: str | None


class BackupScheduler:
    def __init__(self, settings: BackupSettings, archive: BackupArchive, clock: Clock) -> None:
        self.settings = settings
        self.archive = archive
        self.clock = clock
        self.started_at = clock.now()
        self.last_success_at: float | None = None
        self.last_error: str | None = None
        self.service = settings.service_name
        BACKUP_INTERVAL.labels(self.service).set(settings.backup_interval_s)

    async def run_forever(self) -> None:
        interval = self.settings.backup_interval_s
        while True:
            started = time.monotonic()
            try:
                await self.run_once()
                delay = interval - (time.monotonic() - started)
            except DomainError:  # counted, logged and shown by /health already
                delay = min(interval, FAILURE_RETRY_S)
            await asyncio.sleep(max(0.0, delay))

    async def run_once(self) -> str:
        """Dump, upload, publish, prune; returns the key of the new backup."""
        key = backup_key(self.settings.db_name, self.clock.now())
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.settings.backup_run_timeout_s):
                size = await self._dump_to(key)
            await self.archive.publish(key)
        except (DomainError, TimeoutError, OSError) as exc:
            error = _as_domain_error(exc, self.settings)
            self._failed(error, time.perf_counter() - started)
            with contextlib.suppress(DomainError):
                await self.archive.discard(key)
            raise error from exc
        self._succeeded(key, size, time.perf_counter() - started)
        with contextlib.suppress(DomainError):  # pruning can wait for the next run
            pruned = await self.archive.prune(self.settings.backup_retention)
            if pruned:
                log.info("old backups deleted", extra={"keys": pruned})
        return key

    async def _dump_to(self, key: str) -> int:
        settings = self.settings
        argv = [find_program("pg_dump", settings.pg_bin_dir), "--format=custom", "--no-password"]
        dump = PgProcess(argv, libpq_env(settings, settings.db_name), feeds_stdin=False)
        try:
            assert dump.process.stdout is not None
            try:
                size = await self.archive.upload(key, dump.process.stdout)
            except DomainError:
                # pg_dump's own failure explains more than the S3 error it caused.
                if dump.process.poll() not in (None, 0):
                    dump.finish(0)
                raise
            await asyncio.to_thread(dump.finish, DUMP_EXIT_WAIT_S)
            return size
        finally:
            await asyncio.to_thread(dump.close)

    def _succeeded(self, key: str, size: int, duration_s: float) -> None:
        self.last_success_at = self.clock.now()
        self.last_error = None
        BACKUP_LAST_SUCCESS.labels(self.service).set(self.last_success_at)
        BACKUP_LAST_SIZE.labels(self.service).set(size)
        BACKUP_DURATION.labels(self.service, "success").observe(duration_s)
        log.info(
            "backup done", extra={"key": key, "bytes": size, "duration_s": round(duration_s, 3)}
        )

    def _failed(self, error: DomainError, duration_s: float) -> None:
        self.last_error = f"{error.code}: {error.message}"
        BACKUP_FAILURES.labels(self.service, error.code).inc()
        BACKUP_DURATION.labels(self.service, "failure").observe(duration_s)
        log.error("backup failed", extra={"error": self.last_error})

    def health(self) -> Health:
        reference = self.last_success_at or self.started_at
        age_s = self.clock.now() - reference
        limit_s = HEALTH_FACTOR * self.settings.backup_interval_s
        if age_s <= limit_s:
            reason = "backups are current"
            return Health(True, reason, self.last_success_at, self.last_error)
        since = "the last good backup" if self.last_success_at else "start-up without a backup"
        reason = f"{age_s:.0f}s since {since}, more than {limit_s:g}s"
        if self.last_error:
            reason += f"; last error: {self.last_error}"
        return Health(False, reason, self.last_success_at, self.last_error)


def _as_domain_error(exc: Exception, settings: BackupSettings) -> DomainError:
    if isinstance(exc, DomainError):
        return exc
    if isinstance(exc, TimeoutError):
        limit = settings.backup_run_timeout_s
        return DomainError(504, "backup_timeout", f"the backup run exceeded {limit:g}s")
    return DomainError(500, "backup_error", f"{type(exc).__name__}: {exc}")
