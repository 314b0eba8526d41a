"""Components with the seed's defects, for showing that each check can fail.

The data stores' and TURN server's stand-ins are the self-test's
(harness.selftest.standins); these are the ones only the harness tests use.
"""

from __future__ import annotations

import os
import sys

from harness.platform import probes
from harness.platform.components.base import LocalComponent
from harness.platform.runtime import RunContext
from harness.selftest.standins import (
    CoturnWithoutAuth,
    PostgresAcceptingPlainTcp,
    RedisWithoutPassword,
    S3WithoutAuth,
)

__all__ = [
    "CoturnWithoutAuth",
    "MemoryHog",
    "PostgresWithoutTls",
    "RedisWithoutPassword",
    "S3WithoutAuth",
]


class PostgresWithoutTls(PostgresAcceptingPlainTcp):
    """BLOCKER-1: the database in insecure mode."""

    def _write_config(self, base: os.PathLike[str]) -> None:
        super()._write_config(base)
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write("ssl = off\n")

    def probe(self, run: RunContext) -> None:
        probes.tcp(self.host, self.port)

    def after_ready(self, run: RunContext) -> None:
        return None


class MemoryHog(LocalComponent):
    """A process holding more memory than any budget allows."""

    name = "hog"

    def __init__(self, mib: int) -> None:
        super().__init__()
        self.mib = mib

    def argv(self, run: RunContext) -> list[str]:
        code = (
            f"import time; block = bytearray({self.mib} * 2**20); print('ready', flush=True);"
            " time.sleep(600)"
        )
        return [sys.executable, "-c", code]

    def probe(self, run: RunContext) -> None:
        assert "ready" in run.log_path(self.name).read_text()
