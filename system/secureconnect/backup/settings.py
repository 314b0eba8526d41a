"""BackupSettings: the one settings class of the backup scheduler and its restore command.

The scheduler connects with the DB_* settings. Give it a role that may read
every row (a superuser, or a role with BYPASSRLS): with row-level security
forced on the chat tables, the application's own role would make pg_dump
refuse. `restore` needs CREATEDB as well.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from secureconnect.common.settings import DatabaseSettings, S3Settings, ServiceSettings

#: Default pause between two backups, seconds.
DEFAULT_INTERVAL_S = 3600.0
#: Default number of newest backups kept; older ones are deleted.
DEFAULT_RETENTION = 7
#: Default limit on one backup run (dump and upload), seconds.
DEFAULT_RUN_TIMEOUT_S = 1800.0


class BackupSettings(ServiceSettings, DatabaseSettings, S3Settings):
    service_name: str = "backup"
    backup_bucket: str = "secureconnect-backups"
    backup_interval_s: float = Field(DEFAULT_INTERVAL_S, gt=0)
    backup_retention: int = Field(DEFAULT_RETENTION, ge=1)
    backup_run_timeout_s: float = Field(DEFAULT_RUN_TIMEOUT_S, gt=0)
    #: Where pg_dump/pg_restore live; default: newest /usr/lib/postgresql/*/bin, then PATH.
    pg_bin_dir: Path | None = None
    #: Database `restore` connects to in order to create the target database.
    maintenance_db: str = "postgres"
