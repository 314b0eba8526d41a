"""A failing database is a counted 503, never a 500 — by kind of failure.

`Database` runs in-process against the stack's PostgreSQL through its
Toxiproxy proxy, as the services reach it; each fault breaks a write in
flight. db_errors_total{service,kind} is the server's own view of the fault.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from prometheus_client import REGISTRY
from secureconnect.auth.app import create_auth_app
from secureconnect.auth.settings import AuthSettings
from secureconnect.common.db import CONNECTION_LOST, TIMEOUT, Database
from secureconnect.common.errors import DomainError
from secureconnect.common.settings import DatabaseSettings
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from harness.faults.injector import FaultInjector
from harness.platform.base import Platform
from tests.helpers import database_settings
from tests.stores import settings_for

QUERY_TIMEOUT_S = 1.5
#: A write that takes this long is in flight when the fault strikes.
SLOW_WRITE_S = 3.0


def errors_counted(service: str, kind: str) -> float:
    return REGISTRY.get_sample_value("db_errors_total", {"service": service, "kind": kind}) or 0.0


@pytest.fixture
async def database(stack: Platform) -> AsyncIterator[Database]:
    settings = DatabaseSettings(
        **database_settings(stack), db_query_timeout_s=QUERY_TIMEOUT_S, db_connect_timeout_s=1.0
    )
    db = Database(settings, f"db-errors-{uuid.uuid4().hex[:8]}")
    await db.run("warm", _select_one)  # a pooled, kept-alive connection, as in service
    yield db
    await db.close()


async def _select_one(session: AsyncSession) -> None:
    await session.execute(text("SELECT 1"))


async def _slow_write(session: AsyncSession) -> None:
    await session.execute(text("CREATE TEMP TABLE writes (id int) ON COMMIT DROP"))
    await session.execute(text("INSERT INTO writes VALUES (1)"))
    await session.execute(text("SELECT pg_sleep(:s)"), {"s": SLOW_WRITE_S})


async def _fails_as(db: Database, kind: str, code: str, work: Awaitable[object]) -> None:
    before = errors_counted(db.service, kind)
    with pytest.raises(DomainError) as raised:
        await work
    assert (raised.value.status, raised.value.code) == (503, code)
    assert errors_counted(db.service, kind) == before + 1


async def test_a_cut_link_is_connection_lost(database: Database, faults: FaultInjector) -> None:
    with faults.cut("postgres"):
        await _fails_as(database, CONNECTION_LOST, "database_unavailable", _run_slow(database))


async def test_reset_connections_are_connection_lost(
    database: Database, faults: FaultInjector
) -> None:
    with faults.flaky("postgres", toxicity=1.0):
        await _fails_as(database, CONNECTION_LOST, "database_unavailable", _run_slow(database))


async def test_a_half_open_link_is_a_timeout(database: Database, faults: FaultInjector) -> None:
    with faults.half_open("postgres"):
        await _fails_as(database, TIMEOUT, "database_timeout", _run_slow(database))


async def test_a_backend_terminated_mid_write_is_connection_lost(
    database: Database, faults: FaultInjector
) -> None:
    with faults.terminate_backends() as window:
        await _fails_as(database, CONNECTION_LOST, "database_unavailable", _run_slow(database))
    assert window.proven, window.describe()


async def _terminate_backends_of(database: Database, stack: Platform) -> None:
    """pg_terminate_backend every connection of `database`, as an operator or a failover would."""
    terminator = Database(DatabaseSettings(**database_settings(stack)), "db-terminator")

    async def terminate(session: AsyncSession) -> None:
        query = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :a"
        await session.execute(text(query), {"a": database.service})

    try:
        await terminator.run("terminate", terminate)
    finally:
        await terminator.close()
    await asyncio.sleep(0.2)  # the sockets' close reaches the event loop


async def test_connections_closed_while_idle_are_replaced_on_checkout(
    database: Database, stack: Platform
) -> None:
    await asyncio.gather(*(database.run("warm", _select_one) for _ in range(3)))
    await _terminate_backends_of(database, stack)
    before = errors_counted(database.service, CONNECTION_LOST)
    for _ in range(4):
        await database.run("after", _select_one)
    assert errors_counted(database.service, CONNECTION_LOST) == before


async def test_the_checkout_ping_is_one_statement_and_no_transaction(database: Database) -> None:
    # SQLAlchemy's own asyncpg pre-ping is three round trips: BEGIN, ';' and ROLLBACK.
    statements: list[str] = []

    async def log_statements(session: AsyncSession) -> None:
        raw = await (await session.connection()).get_raw_connection()
        raw.driver_connection.add_query_logger(lambda record: statements.append(record.query))

    await database.run("log", log_statements)  # the pool's one connection, logged from now on
    statements.clear()
    await database.run("pinged", _select_one)
    assert statements[0] == ";"
    assert not any(s.upper().startswith("ROLLBACK") for s in statements)


async def _select_one_read(connection: AsyncConnection) -> int:
    return int((await connection.execute(text("SELECT 1"))).scalar_one())


async def test_a_read_on_a_connection_closed_while_idle_is_retried_on_a_fresh_one(
    database: Database, stack: Platform
) -> None:
    # Reads have no pre-ping: the dead connection is met by the read itself, and retried.
    await asyncio.gather(*(database.read("warm", _select_one_read) for _ in range(3)))
    await _terminate_backends_of(database, stack)
    before = errors_counted(database.service, CONNECTION_LOST)
    for _ in range(4):
        assert await database.read("after", _select_one_read) == 1
    assert errors_counted(database.service, CONNECTION_LOST) == before


def _run_slow(db: Database) -> Awaitable[object]:
    return db.run("slow_write", _slow_write)


async def test_the_servers_statement_timeout_is_a_timeout(stack: Platform) -> None:
    settings = DatabaseSettings(**database_settings(stack), db_statement_timeout_ms=200)
    db = Database(settings, f"db-statement-{uuid.uuid4().hex[:8]}")
    try:
        await _fails_as(db, TIMEOUT, "database_timeout", db.run("slow_write", _slow_write))
    finally:
        await db.close()


async def test_a_pool_exhausted_is_a_timeout(stack: Platform) -> None:
    settings = DatabaseSettings(
        **database_settings(stack), db_pool_size=1, db_max_overflow=0, db_pool_timeout_s=0.2
    )
    db = Database(settings, f"db-pool-{uuid.uuid4().hex[:8]}")
    holding = asyncio.create_task(db.run("slow_write", _slow_write))
    try:
        await asyncio.sleep(0.3)  # let the first call take the only connection
        await _fails_as(db, TIMEOUT, "database_timeout", db.run("select", _select_one))
    finally:
        await holding
        await db.close()


async def test_a_data_error_is_the_callers_not_an_outage(database: Database) -> None:
    async def duplicate(session: AsyncSession) -> None:
        await session.execute(text("CREATE TEMP TABLE once (id int PRIMARY KEY) ON COMMIT DROP"))
        await session.execute(text("INSERT INTO once VALUES (1), (1)"))

    counted = [errors_counted(database.service, kind) for kind in (CONNECTION_LOST, TIMEOUT)]
    with pytest.raises(IntegrityError):
        await database.run("duplicate", duplicate)
    assert [errors_counted(database.service, k) for k in (CONNECTION_LOST, TIMEOUT)] == counted


Request = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


async def test_the_api_answers_a_database_outage_503_with_its_error_body(
    stack: Platform, faults: FaultInjector
) -> None:
    name = f"auth-db-{uuid.uuid4().hex[:8]}"
    app = create_auth_app(AuthSettings(**settings_for(stack), service_name=name))
    body = {"email": f"{name}@example.com", "password": "Not-The-Password-1"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://auth") as client:
            with faults.cut("postgres"):
                answer = await client.post("/api/v1/auth/login", json=body)
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"]["code"] == "database_unavailable"
    assert errors_counted(name, CONNECTION_LOST) >= 1


async def _transaction_state(connection: AsyncConnection) -> str:
    # now() is the transaction's start: it moves between two statements only when each
    # is a transaction of its own.
    first = (await connection.execute(text("SELECT now()"))).scalar_one()
    await asyncio.sleep(0.01)
    second = (await connection.execute(text("SELECT now()"))).scalar_one()
    return "own" if first != second else "inside a transaction"


async def test_a_read_runs_outside_a_transaction(database: Database) -> None:
    assert await database.read("state", _transaction_state) == "own"


async def test_a_read_that_meets_a_cut_link_is_a_counted_503(
    database: Database, faults: FaultInjector
) -> None:
    with faults.cut("postgres"):
        await _fails_as(
            database,
            CONNECTION_LOST,
            "database_unavailable",
            database.read("cut", _transaction_state),
        )
