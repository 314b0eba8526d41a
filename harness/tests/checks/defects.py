"""Components with the seed's defects, for showing that each check can fail."""

from __future__ import annotations

import os
import sys

import redis

from harness.platform import probes
from harness.platform.binaries import find
from harness.platform.components.base import LocalComponent
from harness.platform.components.datastores import S3, Postgres, Redis
from harness.platform.components.edge import Coturn
from harness.platform.runtime import RunContext


class PostgresWithoutTls(Postgres):
    """BLOCKER-1: the database in insecure mode."""

    def _write_config(self, base: os.PathLike[str]) -> None:
        super()._write_config(base)
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write("ssl = off\n")
        (self.pgdata / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
        )

    def probe(self, run: RunContext) -> None:
        probes.tcp(self.host, self.port)

    def after_ready(self, run: RunContext) -> None:
        return None


class RedisWithoutPassword(Redis):
    def prepare(self, run: RunContext) -> None:
        super().prepare(run)
        lines = self.config.read_text().splitlines()
        self.config.write_text("\n".join(x for x in lines if not x.startswith("requirepass")))

    def probe(self, run: RunContext) -> None:
        with redis.Redis(host=self.host, port=self.port) as client:
            client.ping()


class S3WithoutAuth(S3):
    def argv(self, run: RunContext) -> list[str]:
        return [
            find("s3s-fs", self.name),
            "--host",
            self.host,
            "--port",
            str(self.port),
            str(run.data_dir(self.name)),
        ]

    def probe(self, run: RunContext) -> None:
        probes.tcp(self.host, self.port)


class CoturnWithoutAuth(Coturn):
    """The seed's TURN server that a test:test health check can pass."""

    def prepare(self, run: RunContext) -> None:
        super().prepare(run)
        kept = [line for line in self.config.read_text().splitlines() if "auth-secret" not in line]
        self.config.write_text("\n".join([*kept, "no-auth", ""]))

    def probe(self, run: RunContext) -> None:
        probes.turn_allocate(self.host, self.port, "test", "test")


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
