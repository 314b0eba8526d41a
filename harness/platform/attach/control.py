"""Control of an attached component's process: by its pid on this host, or its container
(containers.py, imported only when a stack file names one).

Neither starts anything the deployment did not: a killed process is brought
back by whatever runs it (the supervisor of `readiness up --detach`, systemd,
Docker's restart policy), and the harness waits for that. A container can
also be stopped and started, as `docker stop` / `docker start` would.
"""

from __future__ import annotations

import signal
from typing import Protocol

import psutil

from harness.errors import ComponentError
from harness.platform.attach.grants import not_granted
from harness.platform.process import CpuReading, ResourceSample, sample_tree, signal_group
from harness.platform.process import wait_stopped as wait_pid_stopped
from harness.platform.stackfile import ComponentInfo

#: Process start times are kept in clock ticks: a process started just before its stack
#: file was written may seem a little younger.
CLOCK_SLACK_S = 1.0


class ProcessControl(Protocol):
    def problem(self) -> str | None:
        """Why the process does not run normally ("paused", "not running"); None if it does."""

    def kill(self) -> None: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def stop(self) -> None:
        """Down on purpose: it stays down until `start`."""

    def start(self) -> None:
        """Bring it back after `stop`, or nothing where the deployment restarts it."""

    def take_down_for_restart(self) -> None:
        """The first half of a restart: `start` (or the deployment) does the rest."""

    def stats(self) -> ResourceSample: ...

    def restarts(self) -> int: ...

    def logs(self) -> str: ...


class StackView(Protocol):
    """The stack file as it is now (AttachPlatform)."""

    def endpoint(self, component: str) -> ComponentInfo: ...

    def written_at(self) -> float:
        """When the stack file in use was written, seconds since the epoch."""


class PidControl:
    """A process on this host, by the pid the stack file gives now: a supervisor that
    rewrites the file (readiness up --detach does) keeps it current across restarts.

    A process newer than the file is not the one it names (the pid was reused after the
    component died and nobody rewrote the file): it is never signalled."""

    def __init__(self, name: str, stack: StackView) -> None:
        self.name = name
        self._stack = stack
        self._last_cpu: CpuReading | None = None

    def _pid(self) -> int:
        pid = self._stack.endpoint(self.name).pid
        if pid is None:
            raise ComponentError(f"{self.name} has no pid in the stack file")
        try:
            created = psutil.Process(pid).create_time()
        except psutil.NoSuchProcess:
            return pid  # gone: problem() says so, a signal finds nobody
        if created > self._stack.written_at() + CLOCK_SLACK_S:
            raise ComponentError(
                f"{self.name}: pid {pid} is a process newer than the stack file (the pid was "
                "reused), not the component: not touched"
            )
        return pid

    def problem(self) -> str | None:
        try:
            status = psutil.Process(self._pid()).status()
        except psutil.NoSuchProcess:
            return f"not running (pid {self._pid()} is gone)"
        if status == psutil.STATUS_ZOMBIE:
            return "not running (exited)"
        if status in (psutil.STATUS_STOPPED, psutil.STATUS_TRACING_STOP):
            return "paused"
        return None

    def kill(self) -> None:
        signal_group(self.name, self._pid(), signal.SIGKILL)

    def pause(self) -> None:
        signal_group(self.name, self._pid(), signal.SIGSTOP)
        wait_pid_stopped(self.name, self._pid())

    def resume(self) -> None:
        if self.problem() != "paused":
            raise ComponentError(f"{self.name} is not paused")
        signal_group(self.name, self._pid(), signal.SIGCONT)

    def stop(self) -> None:
        raise not_granted(
            f"stopping {self.name} on purpose",
            f"components.{self.name}.container (a pid grants kill, pause and resume)",
        )

    def start(self) -> None:
        """Nothing to do: whatever runs the process restarts it (the caller waits)."""

    def take_down_for_restart(self) -> None:
        self.kill()

    def stats(self) -> ResourceSample:
        if self.problem() is not None and self.problem() != "paused":
            raise ComponentError(f"{self.name} is not running")
        sample, self._last_cpu = sample_tree(self._pid(), self._last_cpu)
        return sample

    def restarts(self) -> int:
        return self._stack.endpoint(self.name).restarts

    def logs(self) -> str:
        raise not_granted(f"the log of {self.name}", f"components.{self.name}.log_file")
