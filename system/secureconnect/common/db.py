"""PostgreSQL: async SQLAlchemy 2 over asyncpg, TLS verify-full, bounded pools.

Three layers of timeouts, so a stuck database never stalls a request past
its budget: the pool wait (`db_pool_timeout_s`), the server-side
`statement_timeout`, and a per-call deadline in `Database.run` that does not
wait for SQLAlchemy's shielded close of the cancelled connection (see
`secureconnect.common.deadline`).
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import URL, MetaData, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from secureconnect.common.deadline import DeadlineExceeded, drain, run_within
from secureconnect.common.errors import DomainError
from secureconnect.common.metrics import DB_QUERY_DURATION
from secureconnect.common.settings import DatabaseSettings

T = TypeVar("T")

#: One schema for the product; Alembic migrations are written against it.
metadata = MetaData()

#: Connections older than this are recycled, seconds (survives server-side idle kills).
POOL_RECYCLE_S = 300
#: Budget for the readiness probe's `SELECT 1`, seconds.
PING_TIMEOUT_S = 1.0
#: How long `close` waits for abandoned connections to finish closing, seconds
#: (asyncpg's graceful close, which SQLAlchemy gives 2 s).
CLOSE_DRAIN_S = 3.0


def ssl_context(ca_file: str) -> ssl.SSLContext:
    """verify-full: the server certificate must chain to the CA and match the host."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def database_url(settings: DatabaseSettings) -> URL:
    password = settings.db_password.get_secret_value() if settings.db_password else None
    return URL.create(
        "postgresql+asyncpg",
        username=settings.db_user,
        password=password,
        host=settings.db_host,
        port=settings.db_port,
        database=settings.db_name,
    )


def create_engine(settings: DatabaseSettings, application_name: str) -> AsyncEngine:
    connect_args: dict[str, object] = {
        "timeout": settings.db_connect_timeout_s,
        "command_timeout": settings.db_query_timeout_s,
        "server_settings": {
            "application_name": application_name,
            "statement_timeout": str(settings.db_statement_timeout_ms),
        },
        "ssl": ssl_context(str(settings.db_ssl_ca_file)) if settings.db_ssl_ca_file else False,
    }
    return create_async_engine(
        database_url(settings),
        connect_args=connect_args,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_s,
        pool_recycle=POOL_RECYCLE_S,
        pool_pre_ping=True,
    )


class Database:
    """The engine plus `run`, which times and bounds one unit of work."""

    def __init__(self, settings: DatabaseSettings, service: str) -> None:
        self.service = service
        self.engine = create_engine(settings, service)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.query_timeout_s = settings.db_query_timeout_s

    async def run(self, operation: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `work` in a transaction; timeouts and connection loss become 503."""
        started = time.perf_counter()
        try:
            return await run_within(self.query_timeout_s, self._transaction(work))
        except DeadlineExceeded as exc:
            raise DomainError(
                503, "database_timeout", "the database did not answer in time"
            ) from exc
        except (OSError, DBAPIError) as exc:
            if (
                isinstance(exc, DBAPIError)
                and not exc.connection_invalidated
                and _is_data_error(exc)
            ):
                raise
            raise DomainError(503, "database_unavailable", "the database is unavailable") from exc
        finally:
            DB_QUERY_DURATION.labels(self.service, operation).observe(time.perf_counter() - started)

    async def ping(self) -> bool:
        try:
            await run_within(PING_TIMEOUT_S, self._select_one())
            return True
        except (TimeoutError, OSError, SQLAlchemyError):
            return False

    async def _transaction(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with self.sessions.begin() as session:
            return await work(session)

    async def _select_one(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        await drain(CLOSE_DRAIN_S)
        await self.engine.dispose()


def _is_data_error(exc: DBAPIError) -> bool:
    """Integrity/data errors are the caller's business, not an outage."""
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(
        getattr(exc.orig, "__cause__", None), "sqlstate", None
    )
    return bool(sqlstate) and not str(sqlstate).startswith(("08", "57", "53"))
