"""Restart components that die on their own: the local stand-in for `restart: unless-stopped`.

A component stopped on purpose (`hold`) stays down; one that crashed or was
killed by a fault is started again after RESTART_DELAY_S, and its restarts
are counted, as Docker counts a container's.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

from harness.platform.process import ManagedProcess

POLL_S = 0.2
RESTART_DELAY_S = 1.0


class Watchdog:
    def __init__(
        self,
        processes: dict[str, ManagedProcess],
        on_restart: Callable[[str], None] | None = None,
        delay_s: float = RESTART_DELAY_S,
    ) -> None:
        self.processes = processes
        self.on_restart = on_restart or (lambda _name: None)
        self.delay_s = delay_s
        #: Serialises restarts with the platform's own start/stop of a component.
        self.lock = threading.RLock()
        self.restarts: Counter[str] = Counter()
        self._held: set[str] = set()
        self._exited_at: dict[str, float] = {}
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._watch, name="watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def hold(self, name: str) -> None:
        """Keep `name` down: it was stopped on purpose."""
        self._held.add(name)

    def release(self, name: str) -> None:
        self._held.discard(name)
        self._exited_at.pop(name, None)

    def _watch(self) -> None:
        while not self._stopping.wait(POLL_S):
            for name, process in list(self.processes.items()):
                if name in self._held or process.running:
                    continue
                exited = self._exited_at.setdefault(name, time.monotonic())
                if time.monotonic() - exited >= self.delay_s:
                    self._restart(name, process)

    def _restart(self, name: str, process: ManagedProcess) -> None:
        with self.lock:
            if name in self._held or process.running or self._stopping.is_set():
                return
            process.start()
            self._exited_at.pop(name, None)
            self.restarts[name] += 1
        self.on_restart(name)
