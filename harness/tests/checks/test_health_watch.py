"""HEALTH-001's watch: a steady component passes; one that crash-loops is named, although
it passes a probe taken at the right moment."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from harness.checks.library import container
from harness.platform.components.base import LocalComponent
from harness.platform.local import LocalPlatform
from harness.platform.runtime import RunContext

OBSERVE_S = 4.0


class _Process(LocalComponent):
    """A Python process that prints `ready`, then lives `lifetime_s` and exits 1."""

    def __init__(self, name: str, lifetime_s: float) -> None:
        self.name = name
        super().__init__()
        self.lifetime_s = lifetime_s

    def argv(self, run: RunContext) -> list[str]:
        code = f"import time; print('ready', flush=True); time.sleep({self.lifetime_s}); exit(1)"
        return [sys.executable, "-c", code]

    def probe(self, run: RunContext) -> None:
        assert "ready" in run.log_path(self.name).read_text()


@pytest.fixture(scope="module")
def looping(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPlatform]:
    # One crash-loops (dies 1.5 s after it is up, restarted by the platform); one stays.
    components = [_Process("crasher", 1.5), _Process("steady", 600)]
    platform = LocalPlatform(tmp_path_factory.mktemp("health"), components, restart=True)
    platform.up()
    yield platform
    platform.down()


def test_a_crash_looping_component_fails_health_001(looping: LocalPlatform) -> None:
    watch = container.watch_health(looping, observe_s=OBSERVE_S)
    assert set(watch.problems) == {"crasher"}, watch.problems
    assert watch.rounds >= container.MIN_ROUNDS
    assert set(watch.slowest_ms) == {"crasher", "steady"}
