"""HEALTH-001's watch: a steady component passes; one that crash-loops is named, although
it passes a probe taken at the right moment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.checks.library import container
from harness.platform.local import LocalPlatform
from harness.tests.checks.defects import CrashLooper, MemoryHog

OBSERVE_S = 4.0


@pytest.fixture(scope="module")
def looping(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPlatform]:
    components = [CrashLooper(), MemoryHog(mib=1)]
    platform = LocalPlatform(tmp_path_factory.mktemp("health"), components, restart=True)
    platform.up()
    yield platform
    platform.down()


def test_a_crash_looping_component_fails_health_001(looping: LocalPlatform) -> None:
    watch = container.watch_health(looping, observe_s=OBSERVE_S)
    assert set(watch.problems) == {"crasher"}, watch.problems
    assert watch.rounds >= container.MIN_ROUNDS
    assert set(watch.slowest_ms) == {"crasher", "hog"}
