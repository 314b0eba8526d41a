"""The experiment engine refutes a hypothesis when a dependency has no fallback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from harness.chaos import AFTER, DURING, Experiment, Probe
from harness.faults.injector import FaultInjector
from harness.platform.components.datastores import Redis
from harness.platform.components.edge import Toxiproxy
from harness.platform.local import LocalPlatform

FAULT_S = 1.5


@pytest.fixture(scope="module")
def redis_behind_toxiproxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPlatform]:
    platform = LocalPlatform(
        tmp_path_factory.mktemp("chaos"), [Redis(), Toxiproxy()], restart=False
    )
    platform.up()
    yield platform
    platform.down()


def _client(platform: LocalPlatform) -> redis.Redis:
    host, port = (platform.endpoint("redis").proxy_listen or "").rsplit(":", 1)
    return redis.Redis(
        host=host,
        port=int(port),
        password=platform.secret("redis_password"),
        socket_timeout=0.3,
        socket_connect_timeout=0.3,
        retry=Retry(NoBackoff(), 0),
    )


def test_a_dependency_without_fallback_refutes_the_hypothesis(
    redis_behind_toxiproxy: LocalPlatform,
) -> None:
    client = _client(redis_behind_toxiproxy)
    injector = FaultInjector(redis_behind_toxiproxy)
    experiment = Experiment(
        "redis-down",
        [Probe("read a session", lambda: client.ping())],
        lambda: injector.cut("redis"),
        duration_s=FAULT_S,
        interval_s=0.2,
    )
    result = experiment.run()
    client.close()
    assert result.violations and "read a session failed during the fault" in result.violations[0]
    assert result.recovered_after_s is not None
    assert [s.phase for s in result.samples if not s.ok] == [DURING] * len(
        [s for s in result.samples if not s.ok]
    )


def test_a_fallback_keeps_the_hypothesis(redis_behind_toxiproxy: LocalPlatform) -> None:
    client = _client(redis_behind_toxiproxy)
    memory = {"session": "alice"}

    def read_with_fallback() -> bool:
        try:
            return client.ping()
        except redis.RedisError:
            return memory["session"] == "alice"

    injector = FaultInjector(redis_behind_toxiproxy)
    experiment = Experiment(
        "redis-down",
        [Probe("read a session", read_with_fallback)],
        lambda: injector.cut("redis"),
        duration_s=FAULT_S,
        interval_s=0.2,
    )
    result = experiment.run()
    client.close()
    assert result.violations == []
    assert any(s.phase == AFTER for s in result.samples)
    assert result.timeline("read a session")
