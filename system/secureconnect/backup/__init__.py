"""Backup scheduler: pg_dump streamed to S3 on an interval, retention, health, restore."""
