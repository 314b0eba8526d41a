"""Resource samples of containers: `docker stats`, plus the limit and OOM kills.

Memory is the working set as `docker stats` shows it (usage less inactive page
cache); CPU percent is measured between two samples of the same container, like
the local platform's process samples.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from docker.models.containers import Container

from harness.platform.process import ResourceSample


@dataclass(frozen=True)
class ContainerSample(ResourceSample):
    """A ResourceSample with what only a container has."""

    memory_limit_bytes: int = 0
    #: The container's last exit was the kernel's OOM killer.
    oom_killed: bool = False
    #: Docker restarted it this often after it died.
    restarts: int = 0
    exit_code: int = 0


def working_set(memory_stats: dict[str, Any]) -> int:
    usage = int(memory_stats.get("usage", 0))
    stats = memory_stats.get("stats") or {}
    inactive = stats.get("total_inactive_file", stats.get("inactive_file", 0))
    return max(usage - int(inactive), 0)


class SampleTracker:
    """Keeps the previous CPU reading of each container, for a percentage."""

    def __init__(self) -> None:
        self._last_cpu: dict[str, tuple[float, float]] = {}

    def sample(self, name: str, container: Container) -> ContainerSample:
        raw: dict[str, Any] = container.stats(stream=False, one_shot=True)  # type: ignore[assignment]
        cpu_s = int(raw.get("cpu_stats", {}).get("cpu_usage", {}).get("total_usage", 0)) / 1e9
        now = time.monotonic()
        percent = 0.0
        last = self._last_cpu.get(name)
        if last is not None and now > last[0] and cpu_s >= last[1]:
            percent = 100.0 * (cpu_s - last[1]) / (now - last[0])
        self._last_cpu[name] = (now, cpu_s)
        state = container.attrs["State"]
        memory = raw.get("memory_stats") or {}
        return ContainerSample(
            rss_bytes=working_set(memory),
            cpu_seconds=cpu_s,
            cpu_percent=percent,
            processes=int((raw.get("pids_stats") or {}).get("current", 0)),
            cpu_wanted_percent=percent,  # the container's run-queue wait is not in its stats
            memory_limit_bytes=int(container.attrs["HostConfig"].get("Memory") or 0),
            oom_killed=bool(state.get("OOMKilled")),
            restarts=int(container.attrs.get("RestartCount", 0)),
            exit_code=int(state.get("ExitCode") or 0),
        )
