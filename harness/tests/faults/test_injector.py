"""Every fault yields its window, filled with the proof that it touched traffic.

Against a real Redis behind the embedded Toxiproxy: with traffic the window
is proven by the counters; without any, it is not, and require_proof says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest
import redis

from harness.errors import ComponentError, InertFault
from harness.faults.injector import FaultInjector, FaultWindow
from harness.platform.local import LocalPlatform
from harness.tests.stacks import redis_via_proxy

pytestmark = pytest.mark.timeout(120)

#: Kept-alive connections in the pool the flaky fault must reach.
POOL_SIZE = 6
FLAKY_WINDOW_S = 10.0


@pytest.fixture
def faults(redis_behind_toxiproxy: LocalPlatform) -> Iterator[FaultInjector]:
    injector = FaultInjector(redis_behind_toxiproxy)
    yield injector
    assert injector.restore() == []


@pytest.fixture
def client(redis_behind_toxiproxy: LocalPlatform) -> Iterator[redis.Redis]:
    connection = redis_via_proxy(redis_behind_toxiproxy, timeout_s=1.0)
    yield connection
    connection.close()


def _traffic(client: redis.Redis) -> None:
    for _ in range(3):
        try:
            client.ping()
        except redis.RedisError:
            pass  # the fault is meant to break some of it


TOXICS: dict[str, Callable[[FaultInjector], AbstractContextManager[FaultWindow]]] = {
    "latency": lambda f: f.latency("redis", ms=20),
    "bandwidth": lambda f: f.throttle("redis", kbps=100),
    "timeout": lambda f: f.half_open("redis"),
    "reset_peer": lambda f: f.flaky("redis", toxicity=1.0),
}
PROOF = {
    "latency": "chunks delayed",
    "bandwidth": "bytes held back",
    "timeout": "connections stalled",
    "reset_peer": "resets sent",
}


@pytest.mark.parametrize("kind", sorted(TOXICS))
def test_a_toxic_with_traffic_is_proven_by_its_counters(
    faults: FaultInjector, client: redis.Redis, kind: str
) -> None:
    with TOXICS[kind](faults) as window:
        _traffic(client)
    assert window.kind == kind and window.ended_at is not None
    assert window.hits[PROOF[kind]] > 0, window.describe()
    assert window.context["connections joined"] >= 1
    faults.require_proof()


@pytest.mark.parametrize("kind", sorted(TOXICS))
def test_a_toxic_without_traffic_is_inert(faults: FaultInjector, kind: str) -> None:
    with TOXICS[kind](faults) as window:
        pass
    assert not window.proven
    with pytest.raises(InertFault, match="no traffic touched"):
        faults.require_proof()


def test_a_cut_counts_the_live_connections_it_drops(
    faults: FaultInjector, client: redis.Redis
) -> None:
    client.ping()  # one kept-alive connection through the proxy
    with faults.cut("redis") as window:
        with pytest.raises(redis.ConnectionError):
            client.ping()
    assert window.hits == {"connections dropped by the cut": 1}
    faults.require_proof()


def test_a_cut_nobody_was_connected_through_is_inert_unless_observed(
    faults: FaultInjector, client: redis.Redis
) -> None:
    client.close()
    with faults.cut("redis") as window:
        pass
    with pytest.raises(InertFault, match="cut redis: no traffic touched"):
        faults.require_proof()
    with faults.cut("redis") as window:
        try:
            client.ping()
        except redis.ConnectionError:
            window.observe("pings refused")
    assert window.proven


def test_flaky_reaches_every_kept_alive_connection(
    redis_behind_toxiproxy: LocalPlatform, faults: FaultInjector
) -> None:
    # Each client keeps one connection open from before the fault: a toxicity
    # rolled only when a connection joins would spare most of them for good.
    pool = [redis_via_proxy(redis_behind_toxiproxy, timeout_s=1.0) for _ in range(POOL_SIZE)]
    for member in pool:
        member.ping()
    reset: set[int] = set()
    with faults.flaky("redis", toxicity=0.3) as window:
        deadline = time.monotonic() + FLAKY_WINDOW_S
        while len(reset) < POOL_SIZE and time.monotonic() < deadline:
            for index, member in enumerate(pool):
                if index in reset:
                    continue
                try:
                    member.ping()
                except redis.ConnectionError:
                    reset.add(index)
            time.sleep(0.05)  # pace the pings: the re-rolls come every FLAKY_REROLL_S
    for member in pool:
        member.close()
    assert reset == set(range(POOL_SIZE)), f"spared for {FLAKY_WINDOW_S}s: {POOL_SIZE - len(reset)}"
    assert window.hits["resets sent"] >= POOL_SIZE
    assert window.context["connections joined"] == POOL_SIZE


def test_pause_is_proven_by_a_request_that_goes_unanswered(faults: FaultInjector) -> None:
    with faults.paused_process("redis") as window:
        pass
    assert window.hits == {"requests unanswered while paused": 1}, window.describe()
    assert window.context["answered before the fault"] is True


def test_kill_is_proven_by_a_request_that_fails(faults: FaultInjector) -> None:
    with faults.killed("redis") as window:
        assert window.ended_at is None
    assert window.ended_at is not None
    assert window.hits == {"requests failed while down": 1}, window.describe()


def test_a_kill_that_cannot_be_delivered_proves_nothing(faults: FaultInjector) -> None:
    faults.kill("redis")
    with pytest.raises(ComponentError, match="not running"):
        faults.kill("redis")
    faults.start("redis")
    first, second = faults.windows
    assert first.proven and not second.proven
    assert "not answering before the fault" in second.context


def test_required_observations_alone_prove_a_window() -> None:
    window = FaultWindow("cut", "redis")
    window.observe("connections dropped by the cut", 3)  # some other client's
    window.require("auth Redis health checks failed")
    assert not window.proven
    assert "none of auth Redis health checks failed seen" in window.describe()
    window.observe_growth("auth Redis health checks failed", lambda: 2, deadline_s=1.0)
    assert window.proven and window.hits["auth Redis health checks failed"] == 2
