"""PostgreSQL: async SQLAlchemy 2 over asyncpg, TLS verify-full, bounded pools.

Three layers of timeouts, so a stuck database never stalls a request past
its budget: the pool wait (`db_pool_timeout_s`), the server-side
`statement_timeout`, and a per-call deadline in `Database.run` that does not
wait for SQLAlchemy's shielded close of the cancelled connection (see
`secureconnect.common.deadline`).

A database that fails a call is the client's 503, never a 500: `Database.run`
classifies every failure of the database (not the caller's data errors, such
as a unique violation, which its caller answers) as `connection_lost`,
`timeout` or `other`, counts it in `db_errors_total{service,kind}` so the
server's own view of a database fault is on /metrics, and raises the
DomainError that the API's error body renders.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import URL, MetaData, event, text
from sqlalchemy.exc import DBAPIError, InvalidatePoolError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.util import await_

from secureconnect.common.deadline import drain, run_within
from secureconnect.common.errors import DomainError
from secureconnect.common.metrics import DB_ERRORS, DB_QUERY_DURATION
from secureconnect.common.settings import DatabaseSettings

T = TypeVar("T")

log = logging.getLogger(__name__)

#: Kinds of database failure, the `kind` label of db_errors_total.
CONNECTION_LOST, TIMEOUT, OTHER = "connection_lost", "timeout", "other"
#: SQLSTATE classes of the caller's data (invalid value, constraint violated): its
#: caller answers them (409, 422...), they say nothing about the database's health.
DATA_ERROR_CLASSES = ("22", "23")
#: Connection exceptions, and the server shutting a session down (admin / crash
#: shutdown, cannot connect now): pg_terminate_backend, a failover, a restart.
CONNECTION_LOST_SQLSTATES = ("08", "57P01", "57P02", "57P03")
#: query_canceled: the server's statement_timeout fired.
STATEMENT_TIMEOUT_SQLSTATE = "57014"

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


def create_engine(
    settings: DatabaseSettings, application_name: str, *, reads: bool = False
) -> AsyncEngine:
    """The pool of a service. `reads`: the pool of Database.read, in autocommit and
    without the pre-ping (a read that meets a dead connection is retried instead)."""
    connect_args: dict[str, object] = {
        "timeout": settings.db_connect_timeout_s,
        "command_timeout": settings.db_query_timeout_s,
        "server_settings": {
            "application_name": application_name,
            "statement_timeout": str(settings.db_statement_timeout_ms),
        },
        "ssl": ssl_context(str(settings.db_ssl_ca_file)) if settings.db_ssl_ca_file else False,
    }
    engine = create_async_engine(
        database_url(settings),
        connect_args=connect_args,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_s,
        pool_recycle=POOL_RECYCLE_S,
        **({"isolation_level": "AUTOCOMMIT"} if reads else {}),
    )
    # A round trip per checkout, kept for transactions: under a flaky link the ping
    # takes the reset instead of the request (a check of the socket's state alone let
    # chat's sends fail several times more often), and a transaction cut short is not
    # safely replayed. A read is: its pool retries instead (9 % of auth's CPU on /me).
    if not reads:
        ping_on_checkout(engine)
    return engine


#: A pool entry's info key: its connection was just opened, a ping would tell nothing.
_FRESH = "secureconnect.fresh"


def ping_on_checkout(engine: AsyncEngine) -> None:
    """SQLAlchemy's `pool_pre_ping` in one round trip instead of three: its asyncpg
    ping wraps the `;` in BEGIN and ROLLBACK (for pgbouncer's transaction mode, which
    this product does not run). Same rules otherwise: a connection fresh from connect
    is not pinged, and a ping that finds the connection lost invalidates the pool, whose
    checkout then retries on a new connection; any other failure is the caller's."""
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "connect")
    def fresh(_dbapi_connection: Any, entry: ConnectionPoolEntry) -> None:
        entry.info[_FRESH] = True

    @event.listens_for(pool, "checkout")
    def ping(dbapi_connection: Any, entry: ConnectionPoolEntry, _proxy: Any) -> None:
        if entry.info.pop(_FRESH, False):
            return
        try:
            await_(dbapi_connection.driver_connection.fetchrow(";"))
        except (OSError, asyncpg.InterfaceError, asyncpg.PostgresError) as exc:
            if not _driver_connection_lost(exc):
                raise
            raise InvalidatePoolError(f"pre-ping: {type(exc).__name__}") from exc


def _driver_connection_lost(exc: BaseException) -> bool:
    """The driver's (asyncpg's) own error says the connection is gone."""
    if isinstance(exc, OSError | asyncpg.InterfaceError):
        return True
    sqlstate = getattr(exc, "sqlstate", None) or ""
    return sqlstate.startswith(CONNECTION_LOST_SQLSTATES)


class Database:
    """The engine plus `run`, which times and bounds one unit of work."""

    def __init__(self, settings: DatabaseSettings, service: str) -> None:
        self.service = service
        self.engine = create_engine(settings, service)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        #: Reads' own pool (opened by the first read): autocommit, no pre-ping.
        self._reads = create_engine(settings, service, reads=True)
        self.query_timeout_s = settings.db_query_timeout_s

    async def run(self, operation: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `work` in a transaction; any failure of the database becomes a counted 503."""
        return await self._bounded(operation, self._transaction(work))

    async def read(self, operation: str, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run a read outside a transaction: one round trip instead of a pre-ping, BEGIN,
        the statement and COMMIT (a hot path's read: auth's /me). A read that meets a
        connection the server or the network dropped is retried once on a fresh one,
        within the same deadline. Not for writes, nor for reads of tables under
        row-level security, whose scope is set per transaction (scope.py)."""
        return await self._bounded(operation, self._autocommitted(work))

    async def _bounded(self, operation: str, work: Coroutine[Any, Any, T]) -> T:
        """Await `work` within the query deadline; failures become counted 503s."""
        started = time.perf_counter()
        try:
            return await run_within(self.query_timeout_s, work)
        except (OSError, SQLAlchemyError) as exc:  # DeadlineExceeded is a TimeoutError
            kind = failure_kind(exc)
            if kind is None:
                raise
            DB_ERRORS.labels(self.service, kind).inc()
            log.warning("database call %s failed: %s (%s)", operation, kind, type(exc).__name__)
            raise _unavailable(kind) from exc
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

    async def _autocommitted(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        try:
            return await self._read_once(work)
        except (OSError, SQLAlchemyError) as exc:
            if failure_kind(exc) != CONNECTION_LOST:
                raise
        # Once more, on a fresh connection: the pool has dropped the dead one.
        return await self._read_once(work)

    async def _read_once(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        async with self._reads.connect() as connection:
            return await work(connection)

    async def _select_one(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        await drain(CLOSE_DRAIN_S)
        await self.engine.dispose()
        await self._reads.dispose()


def failure_kind(exc: BaseException) -> str | None:
    """What failed in the database, or None for the caller's own data error."""
    if isinstance(exc, TimeoutError | PoolTimeout):  # our deadline, a driver's, the pool's
        return TIMEOUT
    if isinstance(exc, OSError):
        return CONNECTION_LOST
    if not isinstance(exc, DBAPIError):
        return OTHER  # the session or the pool in a state it cannot serve from
    sqlstate = _sqlstate(exc)
    if exc.connection_invalidated or sqlstate.startswith(CONNECTION_LOST_SQLSTATES):
        return CONNECTION_LOST
    if sqlstate == STATEMENT_TIMEOUT_SQLSTATE:
        return TIMEOUT
    if sqlstate.startswith(DATA_ERROR_CLASSES):
        return None
    return OTHER


def _sqlstate(exc: DBAPIError) -> str:
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(
        getattr(exc.orig, "__cause__", None), "sqlstate", None
    )
    return str(sqlstate or "")


def _unavailable(kind: str) -> DomainError:
    if kind == TIMEOUT:
        return DomainError(503, "database_timeout", "the database did not answer in time")
    return DomainError(503, "database_unavailable", "the database is unavailable")
