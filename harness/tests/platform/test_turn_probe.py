"""The TURN health probe releases what it allocates: it runs before every check."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aioice.stun import TransactionFailed

from harness.platform import probes
from harness.platform.components.edge import TURN_PROBE_USER, Coturn
from harness.platform.local import LocalPlatform
from harness.platform.runtime import RunContext
from harness.waiting import eventually

pytestmark = pytest.mark.stack

PROBES = 3
#: coturn frees a deleted allocation's quota a second or two after the delete; a leaked
#: one holds it for the allocation's lifetime (600 s).
QUOTA_FREED_WITHIN_S = 8.0


class OneAllocationPerUser(Coturn):
    """coturn that lets a user hold a single allocation: a leaked one blocks the next."""

    def prepare(self, run: RunContext) -> None:
        super().prepare(run)
        self.config.write_text(self.config.read_text() + "user-quota=1\n")


@pytest.fixture(scope="module")
def strict_coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPlatform]:
    with LocalPlatform(tmp_path_factory.mktemp("coturn"), [OneAllocationPerUser()]) as platform:
        yield platform


def test_every_probe_releases_its_allocation(strict_coturn: LocalPlatform) -> None:
    host, port = strict_coturn.endpoint("coturn").address.rsplit(":", 1)
    username, password = probes.turn_credentials(
        strict_coturn.secret("turn_secret"), TURN_PROBE_USER, probes.TURN_PROBE_CREDENTIAL_TTL_S
    )

    def allocated() -> bool:
        try:
            probes.turn_allocate(host, int(port), username, password)
        except TransactionFailed as exc:
            assert "486" in str(exc), exc  # only "quota reached" is worth waiting out
            return False
        return True

    for number in range(PROBES):
        eventually(allocated, QUOTA_FREED_WITHIN_S, 0.25, f"probe {number + 1} allocating")
