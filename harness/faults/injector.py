"""Faults bound to a running stack, for scenarios: `with faults.cut("redis"): ...`.

Whatever a scenario breaks, `restore()` mends: Toxiproxy `/reset` (every proxy
enabled, every toxic gone), paused components resumed, stopped or killed ones
started again. The `faults` fixture calls it in its finalizer, so cleanup runs
on failure and on Ctrl-C too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from harness.errors import HarnessError
from harness.faults import toxiproxy
from harness.faults.toxiproxy import DOWNSTREAM, Stream, ToxicInfo
from harness.platform.base import Platform


class FaultInjector:
    def __init__(self, stack: Platform) -> None:
        self.stack = stack
        self.client = stack.toxiproxy
        self.paused: set[str] = set()
        self.down: set[str] = set()
        #: Every fault injected, for the evidence of the check.
        self.log: list[dict[str, Any]] = []

    def _record(self, kind: str, target: str, **details: Any) -> None:
        self.log.append({"fault": kind, "target": target, **details})

    # -- network faults, through Toxiproxy ---------------------------------

    def cut(self, proxy: str) -> contextlib.AbstractContextManager[Any]:
        self._record("cut", proxy)
        return toxiproxy.cut(self.client, proxy)

    def latency(
        self, proxy: str, ms: int, jitter_ms: int = 0, stream: Stream = DOWNSTREAM
    ) -> contextlib.AbstractContextManager[ToxicInfo]:
        self._record("latency", proxy, ms=ms, jitter_ms=jitter_ms, stream=stream)
        return toxiproxy.latency(self.client, proxy, ms, jitter_ms, stream)

    def flaky(self, proxy: str, toxicity: float) -> contextlib.AbstractContextManager[ToxicInfo]:
        self._record("reset_peer", proxy, toxicity=toxicity)
        return toxiproxy.flaky(self.client, proxy, toxicity)

    def throttle(self, proxy: str, kbps: int) -> contextlib.AbstractContextManager[ToxicInfo]:
        self._record("bandwidth", proxy, kbps=kbps)
        return toxiproxy.throttle(self.client, proxy, kbps)

    def half_open(self, proxy: str) -> contextlib.AbstractContextManager[ToxicInfo]:
        self._record("timeout", proxy)
        return toxiproxy.half_open(self.client, proxy)

    # -- process faults ----------------------------------------------------

    @contextlib.contextmanager
    def paused_process(self, component: str) -> Iterator[None]:
        """SIGSTOP for the block: the process holds its sockets but answers nothing."""
        self._record("pause", component)
        self.stack.pause(component)
        self.paused.add(component)
        try:
            yield
        finally:
            self.stack.resume(component)
            self.paused.discard(component)

    def kill(self, component: str) -> None:
        """SIGKILL; `restore()` (or the scenario) starts it again."""
        self._record("kill", component)
        self.stack.kill(component)
        self.down.add(component)

    def start(self, component: str) -> None:
        self.stack.start(component)
        self.down.discard(component)

    def restore(self) -> list[str]:
        """Undo every fault; returns what could not be undone (empty when all is well)."""
        problems = []
        try:
            self.client.reset()
        except HarnessError as exc:
            problems.append(f"toxiproxy reset: {exc}")
        for component in sorted(self.paused):
            with contextlib.suppress(HarnessError):
                self.stack.resume(component)
        self.paused.clear()
        for component in sorted(self.down):
            try:
                self.stack.start(component)
            except HarnessError as exc:
                problems.append(f"{component}: {exc}")
        self.down.clear()
        return problems
