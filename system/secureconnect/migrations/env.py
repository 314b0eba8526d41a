"""Alembic environment: async engine from the same settings as the services."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

import secureconnect.auth.models  # noqa: F401  (registers tables on the metadata)
import secureconnect.common.revocations_pg  # noqa: F401
import secureconnect.storage.models  # noqa: F401
from secureconnect.common.db import create_engine, metadata
from secureconnect.common.settings import DatabaseSettings, ServiceSettings

#: Serialises concurrent migrators (several instances starting at once).
MIGRATION_LOCK_ID = 7_415_001


class MigrationSettings(ServiceSettings, DatabaseSettings):
    service_name: str = "migrations"


def _run(connection: Connection) -> None:
    connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    settings = MigrationSettings()
    # No statement timeout for DDL on a large table; the lock wait is bounded by the DB.
    settings.db_statement_timeout_ms = 0
    engine = create_engine(settings, "migrations")
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


asyncio.run(_run_online())
