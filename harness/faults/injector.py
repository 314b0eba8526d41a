"""Faults bound to a running stack, for scenarios: `with faults.cut("redis"): ...`.

Whatever a scenario breaks, `restore()` mends: Toxiproxy `/reset` (every proxy
enabled, every toxic gone), paused components resumed, stopped or killed ones
started again. The `faults` fixture calls it in its finalizer, so cleanup runs
on failure and on Ctrl-C too.

Every fault is a **window** (`FaultWindow`): from injection to removal, with
the proof that it touched the traffic it targets. A fault nobody's traffic
went through proves nothing; `require_proof()` then raises `InertFault`, and
the check is *unknown*, never passed. Proof is counted by Toxiproxy where it
can be (connections dropped by a cut, toxics applied) and added by the
scenario from the client's or the server's view with `window.observe(...)`
(writes that failed, 503s seen, an error counter that moved).
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from harness.checks.evidence import EvidenceLog
from harness.errors import HarnessError, InertFault
from harness.faults import toxiproxy
from harness.faults.toxiproxy import DOWNSTREAM, Stream, ToxicInfo
from harness.platform.base import Platform


@dataclass
class FaultWindow:
    """One fault from injection to removal, and what proves it touched traffic."""

    kind: str
    target: str
    details: dict[str, Any] = field(default_factory=dict)
    #: Wall-clock times (seconds since the epoch), comparable with Prometheus's and
    #: Alertmanager's timestamps.
    started_at: float = field(default_factory=time.time)
    ended_at: float | None = None
    hits: Counter[str] = field(default_factory=Counter)

    def observe(self, what: str, count: int = 1) -> None:
        """Proof from the client's or the server's view: `what` happened `count` times."""
        if count > 0:
            self.hits[what] += count

    @property
    def proven(self) -> bool:
        return sum(self.hits.values()) > 0

    def describe(self) -> str:
        settings = ", ".join(f"{k}={v}" for k, v in self.details.items())
        fault = f"{self.kind} {self.target}" + (f" ({settings})" if settings else "")
        seen = ", ".join(f"{what}: {n}" for what, n in sorted(self.hits.items()))
        return f"{fault}: {seen or 'no traffic touched'}"


class FaultInjector:
    def __init__(self, stack: Platform) -> None:
        self.stack = stack
        self.client = stack.toxiproxy
        self.paused: set[str] = set()
        self.down: set[str] = set()
        #: Every fault injected, in order, with its proof.
        self.windows: list[FaultWindow] = []

    @property
    def log(self) -> list[dict[str, Any]]:
        """Every fault injected, for the evidence of the check."""
        return [{"fault": w.kind, "target": w.target, **w.details} for w in self.windows]

    def _record(self, kind: str, target: str, **details: Any) -> FaultWindow:
        window = FaultWindow(kind, target, details)
        self.windows.append(window)
        return window

    def require_proof(self, evidence: EvidenceLog | None = None) -> None:
        """Raise InertFault unless every fault injected so far touched its traffic."""
        for window in self.windows:
            if evidence is not None:
                evidence.note(f"fault {window.kind} {window.target}", window.describe())
        inert = [w.describe() for w in self.windows if not w.proven]
        if inert:
            raise InertFault(f"fault proven inert, the check proves nothing: {'; '.join(inert)}")

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

    @contextlib.contextmanager
    def killed(self, component: str) -> Iterator[None]:
        """SIGKILL for the block; started again after it."""
        self.kill(component)
        try:
            yield
        finally:
            self.start(component)

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
