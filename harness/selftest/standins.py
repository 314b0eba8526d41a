"""Defective stand-ins for the components the harness configures itself.

The local stack's data stores and TURN server are configured by the harness
(`harness/platform/components/`), not by `system/` or `compose/`, so a patch
cannot break them. A `kind: component` defect names one of these stand-ins
instead: the stack runs it in place of the stock component it subclasses, with
the deployment mistake it is named after. Each keeps its own health probe
passing, as the mistaken deployment's own health check would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import redis

from harness.platform import probes
from harness.platform.components.base import LocalComponent
from harness.platform.components.datastores import S3, Postgres, Redis
from harness.platform.components.edge import Coturn
from harness.platform.runtime import RunContext


class PostgresAcceptingPlainTcp(Postgres):
    """pg_hba.conf says `host` where it meant `hostssl`: TLS is offered, not required.
    The services, which demand verified TLS, see nothing wrong."""

    hba_rules = "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n"


class RedisWithoutPassword(Redis):
    """Redis started without `requirepass` (the secret never made it into its config);
    its health check an unauthenticated PING."""

    def prepare(self, run: RunContext) -> None:
        super().prepare(run)
        lines = self.config.read_text().splitlines()
        self.config.write_text("\n".join(x for x in lines if not x.startswith("requirepass")))

    def probe(self, run: RunContext) -> None:
        with redis.Redis(host=self.host, port=self.port) as client:
            client.ping()


class S3WithoutAuth(S3):
    """The S3 server started without its access and secret keys: it serves anyone."""

    def credential_options(self, run: RunContext) -> list[str]:
        return []

    def probe(self, run: RunContext) -> None:
        probes.tcp(self.host, self.port)


class CoturnWithoutAuth(Coturn):
    """coturn with `no-auth` in place of the REST secret: an open relay, which the
    generated credentials (and the seed's test:test health check) pass through."""

    def prepare(self, run: RunContext) -> None:
        super().prepare(run)
        kept = [line for line in self.config.read_text().splitlines() if "auth-secret" not in line]
        self.config.write_text("\n".join([*kept, "no-auth", ""]))

    def probe(self, run: RunContext) -> None:
        probes.turn_allocate(self.host, self.port, "test", "test")


@dataclass(frozen=True)
class StandIn:
    """A catalogue name for a defective component, and what it gets wrong."""

    name: str
    what: str
    build: Callable[[], LocalComponent]


STAND_INS = {
    s.name: s
    for s in (
        StandIn(
            "postgres-plain-tcp",
            "PostgreSQL's pg_hba.conf lets TCP clients in without TLS",
            PostgresAcceptingPlainTcp,
        ),
        StandIn("redis-no-password", "Redis runs without requirepass", RedisWithoutPassword),
        StandIn("s3-no-credentials", "the S3 server runs without access keys", S3WithoutAuth),
        StandIn("coturn-no-auth", "coturn runs with no-auth: an open relay", CoturnWithoutAuth),
    )
}
