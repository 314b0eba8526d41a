"""A process's CPU sample: what it got, and what it wanted (got plus run-queue wait)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.platform.process import ManagedProcess

SPIN = [sys.executable, "-c", "while True: pass"]
WINDOW_S = 1.0


def _pinned(argv: list[str], cpu: int) -> list[str]:
    return ["taskset", "--cpu-list", str(cpu), *argv]


@pytest.fixture
def processes() -> Iterator[list[ManagedProcess]]:
    started: list[ManagedProcess] = []
    yield started
    for process in started:
        process.stop(grace_s=1.0)


def _start(
    processes: list[ManagedProcess], name: str, argv: list[str], tmp: Path
) -> ManagedProcess:
    process = ManagedProcess(name, argv, tmp / f"{name}.log")
    process.start()
    processes.append(process)
    return process


def _window(process: ManagedProcess) -> tuple[float, float]:
    process.sample()
    time.sleep(WINDOW_S)
    sample = process.sample()
    return sample.cpu_percent, sample.cpu_wanted_percent


@pytest.mark.skipif(not os.path.exists("/proc/self/schedstat"), reason="no schedstat")
def test_a_spinner_sharing_its_core_wants_the_whole_core(
    processes: list[ManagedProcess], tmp_path: Path
) -> None:
    spinner = _start(processes, "spinner", _pinned(SPIN, 0), tmp_path)
    _start(processes, "rival", _pinned(SPIN, 0), tmp_path)
    time.sleep(0.2)  # both running
    got, wanted = _window(spinner)
    assert got < 75, got  # it shares the core with its rival (and whatever else runs)
    assert wanted > 85, (got, wanted)


def test_a_sleeper_wants_next_to_nothing(processes: list[ManagedProcess], tmp_path: Path) -> None:
    sleeper = _start(processes, "sleeper", ["sleep", "30"], tmp_path)
    got, wanted = _window(sleeper)
    assert got <= wanted < 5, (got, wanted)
