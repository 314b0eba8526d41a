"""Faults bound to a running stack, for scenarios: `with faults.cut("redis") as window: ...`.

Whatever a scenario breaks, `restore()` mends: Toxiproxy `/reset` (every proxy
enabled, every toxic gone) after a network fault, paused components resumed,
stopped or killed ones started again. The `faults` fixture calls it in its
finalizer, so cleanup runs on failure and on Ctrl-C too.

Every fault is a **window** (`FaultWindow`): from injection to removal, with
the proof that it touched the traffic it targets. A fault nobody's traffic
went through proves nothing; `require_proof()` then raises `InertFault`, and
the check is *unknown*, never passed. Every fault context manager yields its
window and fills it on exit:

- network faults from Toxiproxy's counters (the embedded server keeps them;
  a real `toxiproxy-server` does not, and then only the scenario's own
  observations count): live connections a cut dropped, and what a toxic did
  (chunks delayed, resets sent, connections stalled, bytes held back), read
  before the toxic is removed;
- process faults from the component's side: it answered before the signal,
  and right after it (killed or paused) a request to it failed;
- `terminate_backends` from PostgreSQL: backends of the app role terminated
  while they served a statement or held a transaction open.

A scenario adds proof from the client's or the server's view with
`window.observe(...)` (writes that failed, 503s seen, an error counter that moved).
When only some traffic through a proxy is the subject (auth's, not every
service's), `window.require(...)` names the observations that alone prove
the window: Toxiproxy's counters cannot tell one client from another.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from harness import toxiproxy
from harness.checks.evidence import EvidenceLog
from harness.errors import HarnessError, InertFault
from harness.faults.postgres import TERMINATE_INTERVAL_S, Terminator, terminating
from harness.platform.base import Platform
from harness.platform.components.datastores import APP_ROLE
from harness.toxiproxy.client import DOWNSTREAM, ProxyCounters, Stream, ToxicInfo
from harness.waiting import eventually

#: How long a healthy component may take to answer before a fault, seconds (a loaded
#: machine is slow; a component that does not answer then is not a fault's doing).
ALIVE_TIMEOUT_S = 5.0
#: How long a paused or killed component is given to answer after the signal, seconds:
#: the signal is confirmed, so any answer at all would mean the fault did not hold.
DOWN_TIMEOUT_S = 1.0
#: Toxic actions that prove traffic was hit, where not every action the type counts does:
#: a timeout toxic closing an idle connection at removal touched no request.
PROOF_ACTIONS = {"timeout": ("connections_stalled",)}


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
    #: What was seen that is no proof by itself (connections a toxic joined, why a
    #: counter could not be read...), for the auditor.
    context: dict[str, Any] = field(default_factory=dict)
    #: When set, only these observations prove the window (see `require`).
    required: tuple[str, ...] = ()

    def observe(self, what: str, count: float = 1) -> None:
        """Proof from the client's or the server's view: `what` happened `count` times."""
        if count > 0:
            self.hits[what] += int(count) or 1

    def observe_growth(self, what: str, grown: Callable[[], float], deadline_s: float) -> None:
        """Observe `grown()` (a counter's increase) once it is positive, waiting at most
        `deadline_s`: proof that shows a moment later, such as a failed run counted when
        it ends, or a call cut short counted as it unwinds."""
        with contextlib.suppress(TimeoutError):
            eventually(lambda: grown() > 0, deadline_s, what=what)
        self.observe(what, grown())

    def require(self, *whats: str) -> None:
        """Only observations named `whats` prove this window, e.g. the view of the
        one service the check is about, when the proxy carries others' traffic too."""
        self.required = whats

    @property
    def proven(self) -> bool:
        if self.required:
            return any(self.hits[what] > 0 for what in self.required)
        return sum(self.hits.values()) > 0

    def end(self) -> None:
        if self.ended_at is None:
            self.ended_at = time.time()

    def note(self, evidence: EvidenceLog) -> None:
        """Put this window and its proof in a check's evidence."""
        evidence.note(f"fault {self.kind} {self.target}", self.describe())

    def describe(self) -> str:
        settings = ", ".join(f"{k}={v}" for k, v in self.details.items())
        fault = f"{self.kind} {self.target}" + (f" ({settings})" if settings else "")
        seen = ", ".join(f"{what}: {n}" for what, n in sorted(self.hits.items()))
        if self.required and not self.proven:
            seen = f"none of {' / '.join(self.required)} seen" + (f" ({seen})" if seen else "")
        context = "; ".join(f"{k}: {v}" for k, v in self.context.items())
        return f"{fault}: {seen or 'no traffic touched'}" + (f" [{context}]" if context else "")


def observe_toxic(window: FaultWindow, toxic: ToxicInfo) -> None:
    """Fill `window` from a toxic's counters (absent on a real toxiproxy-server)."""
    counters = toxic.counters
    if counters is None:
        window.context["toxiproxy counters"] = "none (the server keeps no counters)"
        return
    window.context["connections joined"] = counters.connections_joined
    window.context["connections rolled in"] = counters.connections_applied
    proof = PROOF_ACTIONS.get(toxic.type, tuple(counters.actions))
    for action, count in counters.actions.items():
        if action in proof:
            window.observe(action.replace("_", " "), count)
        elif count:
            window.context[action.replace("_", " ")] = count


def observe_cut(
    window: FaultWindow, before: ProxyCounters | None, after: ProxyCounters | None
) -> None:
    """Fill `window` with the live connections disabling the proxy dropped."""
    if before is None or after is None:
        window.context["toxiproxy counters"] = "none (the server keeps no counters)"
        return
    window.observe("connections dropped by the cut", after.connections_cut - before.connections_cut)


class FaultInjector:
    def __init__(self, stack: Platform) -> None:
        self.stack = stack
        self._client: toxiproxy.ToxiproxyClient | None = None
        self.paused: set[str] = set()
        self.down: set[str] = set()
        #: Every fault injected, in order, with its proof.
        self.windows: list[FaultWindow] = []

    @property
    def client(self) -> toxiproxy.ToxiproxyClient:
        """The stack's Toxiproxy, asked for at the first network fault: a stack that grants
        none (attach) still takes process faults."""
        if self._client is None:
            self._client = self.stack.toxiproxy
        return self._client

    @property
    def log(self) -> list[dict[str, Any]]:
        """Every fault injected, for the evidence of the check."""
        return [{"fault": w.kind, "target": w.target, **w.details} for w in self.windows]

    def _record(self, kind: str, target: str, **details: Any) -> FaultWindow:
        window = FaultWindow(kind, target, details)
        self.windows.append(window)
        return window

    def record_proof(self, evidence: EvidenceLog) -> None:
        """Note every fault window and its proof in the check's evidence."""
        for window in self.windows:
            window.note(evidence)

    def require_proof(self, evidence: EvidenceLog | None = None) -> None:
        """Raise InertFault unless every fault injected so far touched its traffic."""
        if evidence is not None:
            self.record_proof(evidence)
        inert = [w.describe() for w in self.windows if not w.proven]
        if inert:
            raise InertFault(f"fault proven inert, the check proves nothing: {'; '.join(inert)}")

    # -- network faults, through Toxiproxy ---------------------------------

    @contextlib.contextmanager
    def cut(self, proxy: str) -> Iterator[FaultWindow]:
        """The proxy refuses new connections and drops live ones until the block ends."""
        window = self._record("cut", proxy)
        before = self.client.proxy(proxy).counters
        with toxiproxy.cut(self.client, proxy) as disabled:
            window.started_at = time.time()
            observe_cut(window, before, disabled.counters)
            try:
                yield window
            finally:
                window.end()

    @contextlib.contextmanager
    def _toxic_window(
        self, window: FaultWindow, fault: contextlib.AbstractContextManager[ToxicInfo]
    ) -> Iterator[FaultWindow]:
        """Run a toxic's block; its counters are read before the toxic is removed."""
        with fault as added:
            window.started_at = time.time()
            try:
                yield window
            finally:
                window.end()
                try:
                    observe_toxic(window, self.client.toxic(window.target, added.name))
                except HarnessError as exc:
                    window.context["toxiproxy counters"] = f"unreadable: {exc}"

    def latency(
        self, proxy: str, ms: int, jitter_ms: int = 0, stream: Stream = DOWNSTREAM
    ) -> contextlib.AbstractContextManager[FaultWindow]:
        window = self._record("latency", proxy, ms=ms, jitter_ms=jitter_ms, stream=stream)
        return self._toxic_window(
            window, toxiproxy.latency(self.client, proxy, ms, jitter_ms, stream)
        )

    def flaky(
        self, proxy: str, toxicity: float, stream: Stream = DOWNSTREAM
    ) -> contextlib.AbstractContextManager[FaultWindow]:
        """Reset that share of connections, kept-alive ones included (see toxiproxy.flaky)."""
        window = self._record("reset_peer", proxy, toxicity=toxicity, stream=stream)
        return self._toxic_window(window, toxiproxy.flaky(self.client, proxy, toxicity, stream))

    def throttle(
        self, proxy: str, kbps: int, stream: Stream = DOWNSTREAM
    ) -> contextlib.AbstractContextManager[FaultWindow]:
        window = self._record("bandwidth", proxy, kbps=kbps, stream=stream)
        return self._toxic_window(window, toxiproxy.throttle(self.client, proxy, kbps, stream))

    def half_open(
        self, proxy: str, stream: Stream = DOWNSTREAM
    ) -> contextlib.AbstractContextManager[FaultWindow]:
        window = self._record("timeout", proxy, stream=stream)
        return self._toxic_window(window, toxiproxy.half_open(self.client, proxy, stream))

    # -- database faults ---------------------------------------------------

    @contextlib.contextmanager
    def terminate_backends(
        self, role: str = APP_ROLE, interval_s: float = TERMINATE_INTERVAL_S
    ) -> Iterator[FaultWindow]:
        """Terminate the role's busy backends (`pg_terminate_backend`) for the block.

        Writes in flight fail mid-statement or mid-transaction; proof is the number
        of backends terminated while active or idle in a transaction.
        """
        window = self._record("terminate_backends", "postgres", role=role)
        terminator = Terminator.of(self.stack, role)
        terminator.interval_s = interval_s
        try:
            with terminating(terminator):
                window.started_at = time.time()
                yield window
        finally:  # also when the block raised: what was terminated is proof all the same
            window.end()
            for state, count in sorted(terminator.terminated.items()):
                window.observe(f"backends terminated while {state}", count)
            window.context["rounds"] = terminator.rounds
            if terminator.error is not None:
                window.context["termination loop failed"] = terminator.error

    # -- process faults ----------------------------------------------------

    def _not_answering(self, component: str, timeout_s: float) -> str | None:
        """Why `component` does not answer a request now; None when it does."""
        url = self.stack.endpoint(component).url
        try:
            if url:
                httpx.get(f"{url}/health", timeout=timeout_s)
            else:
                self.stack.probe(component)
        except Exception as exc:  # whatever the probe raises, the component did not answer
            return f"{type(exc).__name__}: {exc}"[:200]
        return None

    def _answered_before(self, window: FaultWindow) -> bool:
        failure = self._not_answering(window.target, ALIVE_TIMEOUT_S)
        if failure is not None:
            window.context["not answering before the fault"] = failure
            return False
        window.context["answered before the fault"] = True
        return True

    def _prove_down(self, window: FaultWindow, answered_before: bool, what: str) -> None:
        """A request right after the signal fails: the fault took hold."""
        if not answered_before:
            return  # breaking what was already broken proves nothing
        failure = self._not_answering(window.target, DOWN_TIMEOUT_S)
        if failure is not None:
            window.observe(what)
            window.context["request during the fault"] = failure

    @contextlib.contextmanager
    def paused_process(self, component: str) -> Iterator[FaultWindow]:
        """SIGSTOP for the block: the process holds its sockets but answers nothing."""
        window = self._record("pause", component)
        answered = self._answered_before(window)
        self.stack.pause(component)
        self.paused.add(component)
        window.started_at = time.time()
        try:
            self._prove_down(window, answered, "requests unanswered while paused")
            yield window
        finally:
            self.stack.resume(component)
            self.paused.discard(component)
            window.end()

    def kill(self, component: str) -> FaultWindow:
        """SIGKILL; `start()`, `restore()` (or the watchdog) starts it again."""
        window = self._record("kill", component)
        answered = self._answered_before(window)
        self.stack.kill(component)
        self.down.add(component)
        window.started_at = time.time()
        self._prove_down(window, answered, "requests failed while down")
        return window

    @contextlib.contextmanager
    def killed(self, component: str) -> Iterator[FaultWindow]:
        """Killed for the block, started again (and healthy) after it."""
        window = self.kill(component)
        try:
            yield window
        finally:
            self.start(component)

    def start(self, component: str) -> None:
        self.stack.start(component)
        self.down.discard(component)
        for window in self.windows:
            if window.kind == "kill" and window.target == component:
                window.end()

    def restore(self) -> list[str]:
        """Undo every fault; returns what could not be undone (empty when all is well)."""
        problems = []
        try:
            if self._client is not None:
                self._client.reset()
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
        for window in self.windows:
            window.end()
        return problems
