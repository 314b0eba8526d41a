"""TURN: the credentials the API hands out are the ones coturn accepts, and
only while they are valid (expiry moved by the clock, not by waiting)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterator

import httpx
import pytest
from aioice.stun import TransactionFailed
from secureconnect.common.clock import ManualClock
from secureconnect.video.turn import TURN_CREDENTIAL_TTL_S, TurnCredentials, allocate

from harness.platform.base import Platform
from harness.platform.components.edge import Coturn
from harness.platform.local import LocalPlatform
from harness.platform.runtime import RunContext
from tests.chat.support import User
from tests.helpers import eventually
from tests.video.support import place_call

SHORT_TTL_S = 60
PROBES = 3
#: coturn frees a deleted allocation's quota a second or two after the delete; a leaked
#: one holds it for the allocation's lifetime (600 s).
QUOTA_FREED_WITHIN_S = 8.0


def coturn_address(stack: Platform) -> tuple[str, int]:
    host, port = stack.endpoint("coturn").address.rsplit(":", 1)
    return host, int(port)


async def test_turn_credentials_follow_the_rest_secret_scheme_and_work(
    api: httpx.AsyncClient, stack: Platform, alice: User
) -> None:
    response = await api.get("/api/v1/calls/turn-credentials", headers=alice.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    expiry, user_id = body["username"].split(":", 1)
    assert user_id == alice.user_id and body["ttl"] == TURN_CREDENTIAL_TTL_S
    assert abs(int(expiry) - (time.time() + TURN_CREDENTIAL_TTL_S)) < 30
    secret = stack.secret("turn_secret").encode()
    digest = hmac.new(secret, body["username"].encode(), hashlib.sha1).digest()
    assert body["credential"] == base64.b64encode(digest).decode()
    assert body["urls"] == [f"turn:{stack.endpoint('coturn').address}?transport=udp"]
    await allocate(coturn_address(stack), body["username"], body["credential"])


async def test_a_placed_call_carries_working_ice_servers(
    api: httpx.AsyncClient, stack: Platform, alice: User, conversation: str
) -> None:
    call = await place_call(api, alice, conversation, mode="p2p")
    [server] = call["ice_servers"]
    assert server["username"].endswith(f":{alice.user_id}")
    await allocate(coturn_address(stack), server["username"], server["credential"])


async def test_coturn_refuses_a_wrong_credential(stack: Platform) -> None:
    credentials = TurnCredentials("not-the-secret", [], ManualClock(time.time()))
    wrong = credentials.issue("someone")
    with pytest.raises(TransactionFailed):
        await allocate(coturn_address(stack), wrong.username, wrong.credential)


async def test_credentials_expire_by_the_clock(stack: Platform) -> None:
    clock = ManualClock(time.time() - 2 * SHORT_TTL_S)  # minted two lifetimes ago
    credentials = TurnCredentials(stack.secret("turn_secret"), [], clock, SHORT_TTL_S)
    expired = credentials.issue("someone")
    assert int(expired.username.split(":")[0]) < time.time()
    with pytest.raises(TransactionFailed):
        await allocate(coturn_address(stack), expired.username, expired.credential)

    clock.advance(2 * SHORT_TTL_S)  # minted now: valid for SHORT_TTL_S more
    fresh = credentials.issue("someone")
    await allocate(coturn_address(stack), fresh.username, fresh.credential)


async def test_readiness_checks_turn_with_a_real_allocation(video: httpx.AsyncClient) -> None:
    response = await video.get("/ready")
    assert response.status_code == 200, response.text
    dependencies = response.json()["dependencies"]
    assert dependencies["turn"]["state"] == "ok"
    assert {"postgres", "redis", "s3", "turn"} <= set(dependencies)


class OneAllocationPerUser(Coturn):
    """coturn that lets a user hold a single allocation: a leaked one blocks the next."""

    def prepare(self, run: RunContext) -> None:
        super().prepare(run)
        self.config.write_text(self.config.read_text() + "user-quota=1\n")


@pytest.fixture(scope="module")
def strict_coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPlatform]:
    platform = LocalPlatform(tmp_path_factory.mktemp("coturn"), [OneAllocationPerUser()])
    with platform:
        yield platform


async def test_probe_allocations_are_released(strict_coturn: LocalPlatform) -> None:
    """/ready probes TURN every few seconds: each allocation must be deleted, not left to
    hold one of coturn's relay ports for its ten-minute lifetime."""
    credentials = TurnCredentials(strict_coturn.secret("turn_secret"), [], ManualClock(time.time()))
    probe = credentials.issue("video-readiness-probe")

    async def allocated() -> bool:
        try:
            await allocate(coturn_address(strict_coturn), probe.username, probe.credential)
        except TransactionFailed as exc:
            assert "486" in str(exc), exc  # only "quota reached" is worth waiting out
            return False
        return True

    for number in range(PROBES):
        await eventually(allocated, QUOTA_FREED_WITHIN_S, f"allocation {number + 1}", 0.25)
