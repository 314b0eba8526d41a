"""The experiment engine refutes a hypothesis when a dependency has no fallback."""

from __future__ import annotations

import redis

from harness.faults.injector import FaultInjector
from harness.platform.local import LocalPlatform
from harness.run.chaos import AFTER, DURING, INERT, REFUTED, Experiment, Probe
from harness.run.chaos_catalogue import scenario_names
from harness.tests.stacks import redis_via_proxy

FAULT_S = 1.5


def test_a_dependency_without_fallback_refutes_the_hypothesis(
    redis_behind_toxiproxy: LocalPlatform,
) -> None:
    client = redis_via_proxy(redis_behind_toxiproxy)
    injector = FaultInjector(redis_behind_toxiproxy)
    experiment = Experiment(
        "redis-down",
        [Probe("read a session", lambda: client.ping())],
        lambda: injector.cut("redis"),
        duration_s=FAULT_S,
        interval_s=0.2,
        prove=injector.require_proof,
    )
    result = experiment.run()
    client.close()
    assert result.verdict == REFUTED and result.inert_fault is None
    assert result.violations and "read a session failed during the fault" in result.violations[0]
    assert result.recovered_after_s is not None
    assert [s.phase for s in result.samples if not s.ok] == [DURING] * len(
        [s for s in result.samples if not s.ok]
    )


def test_a_fallback_keeps_the_hypothesis(redis_behind_toxiproxy: LocalPlatform) -> None:
    client = redis_via_proxy(redis_behind_toxiproxy)
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


def test_a_fault_no_probe_goes_through_is_inert_not_judged(
    redis_behind_toxiproxy: LocalPlatform,
) -> None:
    injector = FaultInjector(redis_behind_toxiproxy)
    experiment = Experiment(
        "redis-slow",
        [Probe("something that needs no Redis", lambda: True)],
        lambda: injector.latency("redis", ms=500),
        duration_s=0.5,
        interval_s=0.2,
        prove=injector.require_proof,
    )
    result = experiment.run()
    assert result.verdict == INERT and "latency redis" in (result.inert_fault or "")
    assert result.violations == []


def test_terminated_database_backends_are_a_chaos_scenario(
    redis_behind_toxiproxy: LocalPlatform,
) -> None:
    assert "postgres-terminated" in scenario_names(redis_behind_toxiproxy)
    assert "redis-down" in scenario_names(redis_behind_toxiproxy)
