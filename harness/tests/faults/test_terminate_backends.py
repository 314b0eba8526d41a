"""terminate_backends fails a write in progress, and proves it did.

Against a real PostgreSQL (TLS) started for this module: a transaction of
the app role writes, the fault terminates its backend, the write is gone.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator

import asyncpg
import pytest

from harness.errors import InertFault
from harness.faults.injector import FaultInjector, FaultWindow
from harness.platform.components.datastores import APP_DATABASE, APP_ROLE, Postgres
from harness.platform.components.edge import Toxiproxy
from harness.platform.local import LocalPlatform

pytestmark = pytest.mark.timeout(180)

#: Longer than the loop needs to find the backend, far shorter than the test's timeout.
WRITE_S = 5.0
#: The write's connection lost: what asyncpg raises when its backend is terminated.
CONNECTION_LOST = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError)
PROOF = {"backends terminated while active", "backends terminated while idle in transaction"}


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPlatform]:
    platform = LocalPlatform(
        tmp_path_factory.mktemp("pg"), [Postgres(), Toxiproxy()], restart=False
    )
    platform.up()
    asyncio.run(_execute(platform, "CREATE TABLE IF NOT EXISTS writes (id text PRIMARY KEY)"))
    yield platform
    platform.down()


async def _connect(stack: LocalPlatform) -> asyncpg.Connection:
    host, port = stack.endpoint("postgres").address.rsplit(":", 1)
    return await asyncpg.connect(
        host=host,
        port=int(port),
        user=APP_ROLE,
        password=stack.secret("db_password"),
        database=APP_DATABASE,
        ssl=ssl.create_default_context(cafile=str(stack.ca_certificate())),
    )


async def _execute(stack: LocalPlatform, sql: str, *args: object) -> object:
    conn = await _connect(stack)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def _write_in_a_long_statement(stack: LocalPlatform, key: str) -> None:
    conn = await _connect(stack)
    try:
        async with conn.transaction():
            await conn.execute("INSERT INTO writes VALUES ($1)", key)
            await conn.execute("SELECT pg_sleep($1)", WRITE_S)  # state: active
    finally:
        conn.terminate()


async def _write_then_hold_the_transaction(stack: LocalPlatform, key: str) -> None:
    conn = await _connect(stack)
    try:
        async with conn.transaction():
            await conn.execute("INSERT INTO writes VALUES ($1)", key)
            await asyncio.sleep(WRITE_S)  # state: idle in transaction, as a slow handler
            await conn.execute("SELECT 1")
    finally:
        conn.terminate()


@pytest.mark.parametrize("write", [_write_in_a_long_statement, _write_then_hold_the_transaction])
def test_a_write_in_progress_fails_and_the_window_proves_it(
    postgres: LocalPlatform, write: object
) -> None:
    key = f"{getattr(write, '__name__', 'write')}-key"
    faults = FaultInjector(postgres)
    with faults.terminate_backends() as window:
        with pytest.raises(CONNECTION_LOST):
            asyncio.run(write(postgres, key))  # type: ignore[operator]
    assert asyncio.run(_execute(postgres, "SELECT count(*) FROM writes WHERE id = $1", key)) == 0
    # Caught while writing, or between statements of the transaction: either proves it.
    terminated = sum(n for what, n in window.hits.items() if what.startswith("backends terminated"))
    assert terminated >= 1 and window.hits.keys() <= PROOF, window.describe()
    faults.require_proof()


def test_with_no_write_in_flight_nothing_is_terminated(postgres: LocalPlatform) -> None:
    faults = FaultInjector(postgres)

    async def idle_through_the_fault() -> FaultWindow:
        idle = await _connect(postgres)  # an idle pooled connection is left alone
        try:
            with faults.terminate_backends() as window:
                await asyncio.sleep(0.3)
            assert await idle.fetchval("SELECT 1") == 1
        finally:
            await idle.close()
        return window

    window = asyncio.run(idle_through_the_fault())
    assert window.context["rounds"] >= 1
    with pytest.raises(InertFault, match="terminate_backends postgres"):
        faults.require_proof()
