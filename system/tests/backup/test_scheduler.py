"""What "healthy" means for the backup scheduler, and how backups are named; clock-driven."""

from __future__ import annotations

import pytest
from secureconnect.backup.archive import BackupArchive, backup_key, partial_key
from secureconnect.backup.scheduler import HEALTH_FACTOR, BackupScheduler
from secureconnect.backup.settings import BackupSettings
from secureconnect.common.clock import ManualClock
from secureconnect.common.errors import DomainError
from secureconnect.common.s3 import ResilientS3

INTERVAL_S = 60.0


@pytest.fixture
def settings() -> BackupSettings:
    return BackupSettings(environment="test", backup_interval_s=INTERVAL_S)


async def scheduler_at(settings: BackupSettings, clock: ManualClock) -> BackupScheduler:
    s3 = ResilientS3(settings, "test-backup-health", clock)
    await s3.close()  # never called: health needs no S3
    return BackupScheduler(settings, BackupArchive(s3, settings.backup_bucket), clock)


async def test_healthy_until_two_intervals_pass_without_a_backup(settings) -> None:
    clock = ManualClock()
    scheduler = await scheduler_at(settings, clock)
    assert scheduler.health().healthy
    clock.advance(HEALTH_FACTOR * INTERVAL_S)
    assert scheduler.health().healthy
    clock.advance(1)
    health = scheduler.health()
    assert not health.healthy and "start-up without a backup" in health.reason


async def test_a_success_resets_the_clock_and_failures_are_named(settings) -> None:
    clock = ManualClock()
    scheduler = await scheduler_at(settings, clock)
    clock.advance(INTERVAL_S)
    scheduler._succeeded("postgres/x.dump", 100, 0.5)
    clock.advance(HEALTH_FACTOR * INTERVAL_S)
    assert scheduler.health().healthy
    scheduler._failed(DomainError(503, "storage_unavailable", "S3 is down"), 0.1)
    clock.advance(1)
    health = scheduler.health()
    assert not health.healthy
    assert "since the last good backup" in health.reason
    assert "storage_unavailable: S3 is down" in health.reason
    assert health.last_success_at == pytest.approx(clock.now() - HEALTH_FACTOR * INTERVAL_S - 1)


async def test_keys_sort_by_time_and_resolve_from_short_names(settings) -> None:
    first, second = backup_key("app", 1_700_000_000.0), backup_key("app", 1_700_000_000.5)
    assert first < second and first.startswith("postgres/app-") and first.endswith("Z.dump")
    assert partial_key(first).startswith("postgres/partial/app-")
    archive = BackupArchive(ResilientS3(settings, "test-backup-names"), settings.backup_bucket)
    try:
        assert await archive.resolve(first) == first
        assert await archive.resolve(first.removeprefix("postgres/")) == first
        with pytest.raises(DomainError) as caught:
            await archive.resolve("../../etc/passwd")
        assert caught.value.code == "backup_not_found"
    finally:
        await archive.s3.close()
