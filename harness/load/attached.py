"""A stack started elsewhere (`readiness up --detach`), seen through its state file.

Enough of the Platform protocol for faults during a load run: Toxiproxy for
the network faults, signals to the recorded process groups for pause and
kill. A killed component is brought back by the supervisor's watchdog, so
`start` waits for the state file to show it running again.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psutil

from harness.errors import ComponentError
from harness.faults.toxiproxy import ToxiproxyClient
from harness.platform.base import ComponentInfo, StackInfo
from harness.platform.process import ResourceSample

#: How long the supervisor may take to bring a killed component back, seconds.
RESTART_DEADLINE_S = 60.0
POLL_S = 0.2


class AttachedStack:
    """A running stack this process did not start."""

    backend = "attached"

    def __init__(self, info: StackInfo, state_file: Path | None = None) -> None:
        self.info = info
        self.state_file = state_file
        self._toxiproxy: ToxiproxyClient | None = None

    @property
    def toxiproxy(self) -> ToxiproxyClient:
        if self._toxiproxy is None:
            self._toxiproxy = ToxiproxyClient(self.info.toxiproxy_api)
        return self._toxiproxy

    def names(self) -> list[str]:
        return list(self.info.components)

    def endpoint(self, component: str) -> ComponentInfo:
        try:
            return self.info.components[component]
        except KeyError:
            raise ComponentError(f"unknown component {component!r}") from None

    def _signal(self, component: str, sig: signal.Signals) -> int:
        pid = self.endpoint(component).pid
        if pid is None:
            raise ComponentError(f"{component} has no recorded process")
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError) as exc:
            raise ComponentError(f"{component} (pid {pid}): {exc}") from exc
        return pid

    def pause(self, component: str) -> None:
        self._signal(component, signal.SIGSTOP)

    def resume(self, component: str) -> None:
        self._signal(component, signal.SIGCONT)

    def kill(self, component: str) -> None:
        self._signal(component, signal.SIGKILL)

    def start(self, component: str) -> None:
        """Wait until the supervisor restarted `component` (a new live pid in the state file)."""
        old = self.endpoint(component).pid
        deadline = time.monotonic() + RESTART_DEADLINE_S
        while self.state_file is not None and time.monotonic() < deadline:
            self.info = StackInfo.read(self.state_file)
            pid = self.info.components[component].pid
            if pid is not None and pid != old and psutil.pid_exists(pid):
                return
            time.sleep(POLL_S)
        raise ComponentError(f"{component} was not restarted within {RESTART_DEADLINE_S:.0f}s")

    # -- what a load run does not need from an attached stack ---------------------------

    def _unsupported(self, what: str) -> ComponentError:
        return ComponentError(f"{what} is not available on a stack started elsewhere")

    def up(self) -> StackInfo:
        return self.info

    def down(self) -> None:
        if self._toxiproxy is not None:
            self._toxiproxy.close()

    def stop(self, component: str) -> None:
        raise self._unsupported("stop")

    def restart(self, component: str) -> None:
        raise self._unsupported("restart")

    def probe(self, component: str) -> None:
        raise self._unsupported("probe")

    def secret(self, name: str) -> str:
        raise self._unsupported("secret")

    def ca_certificate(self) -> Path:
        raise self._unsupported("ca_certificate")

    def stats(self, component: str) -> ResourceSample:
        raise self._unsupported("stats")

    def restarts(self, component: str) -> int:
        raise self._unsupported("restarts")

    def logs(self, component: str) -> str:
        raise self._unsupported("logs")
