"""Database connections killed mid-transaction: `pg_terminate_backend` in a bounded loop.

A cut or a toxic on the PostgreSQL link breaks the network under a
connection; this breaks the server side: the backend serving a request is
terminated while it runs a statement or holds a transaction open, as a
failover, the OOM killer or an operator's `pg_terminate_backend` would. The
write in flight fails and its transaction is rolled back.

Only backends of the app role that are `active` or `idle in transaction` are
terminated: an idle pooled connection that dies is replaced by the pool's
pre-ping without any request noticing, so killing those would prove nothing.
The loop runs in a thread of its own, on a direct superuser connection to
PostgreSQL (TLS, certificate verified), bounded in time; it counts what it
terminated by the state each backend was in, the proof of the fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from harness.platform.base import Platform
from harness.platform.components.datastores import APP_ROLE, POSTGRES_USER

#: Backend states in which a request is being served: a statement runs or a
#: transaction is open.
BUSY_STATES = ("active", "idle in transaction", "idle in transaction (aborted)")
#: How often the loop looks for busy backends, seconds: short, since a write is short.
TERMINATE_INTERVAL_S = 0.02
#: The loop never outlives this, even if the block that started it hangs, seconds.
TERMINATE_MAX_S = 300.0
CONNECT_TIMEOUT_S = 5.0
#: The loop's own statements are bounded too, milliseconds.
STATEMENT_TIMEOUT_MS = 2000

TERMINATE_SQL = """
SELECT state, pg_terminate_backend(pid) AS terminated
FROM pg_stat_activity
WHERE usename = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()
  AND state = ANY($2::text[])
"""


@dataclass
class Terminator:
    """The loop's settings and what it terminated, by backend state."""

    address: tuple[str, int]
    password: str
    ca_file: Path
    role: str = APP_ROLE
    interval_s: float = TERMINATE_INTERVAL_S
    max_s: float = TERMINATE_MAX_S
    terminated: Counter[str] = field(default_factory=Counter)
    rounds: int = 0
    error: str | None = None

    @classmethod
    def of(cls, stack: Platform, role: str = APP_ROLE) -> Terminator:
        host, port = stack.endpoint("postgres").address.rsplit(":", 1)
        secret = stack.secret("postgres_superuser_password")
        return cls((host, int(port)), secret, stack.ca_certificate(), role)

    def run(self, stop: threading.Event) -> None:
        try:
            asyncio.run(self._loop(stop))
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            self.error = f"{type(exc).__name__}: {exc}"

    async def _loop(self, stop: threading.Event) -> None:
        host, port = self.address
        conn = await asyncpg.connect(
            host=host,
            port=port,
            user=POSTGRES_USER,
            password=self.password,
            database="postgres",
            ssl=ssl.create_default_context(cafile=str(self.ca_file)),
            timeout=CONNECT_TIMEOUT_S,
            server_settings={"statement_timeout": str(STATEMENT_TIMEOUT_MS)},
        )
        try:
            deadline = time.monotonic() + self.max_s
            while not stop.is_set() and time.monotonic() < deadline:
                for row in await conn.fetch(TERMINATE_SQL, self.role, list(BUSY_STATES)):
                    if row["terminated"]:
                        self.terminated[row["state"]] += 1
                self.rounds += 1
                await asyncio.sleep(self.interval_s)  # the loop's period, not a wait for a state
        finally:
            await conn.close(timeout=CONNECT_TIMEOUT_S)


@contextlib.contextmanager
def terminating(terminator: Terminator) -> Iterator[Terminator]:
    """Run the loop for the block; its counts are final once the block ends."""
    stop = threading.Event()
    thread = threading.Thread(target=terminator.run, args=(stop,), name="pg-terminate", daemon=True)
    thread.start()
    try:
        yield terminator
    finally:
        stop.set()
        thread.join(timeout=CONNECT_TIMEOUT_S * 2)
