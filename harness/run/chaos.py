"""Chaos experiments: a steady-state hypothesis checked before, during and after a fault.

    experiment = Experiment(
        name="redis-down",
        steady_state=[Probe("login", login_works)],
        fault=lambda: faults.cut("redis"),
        duration_s=30,
    )
    result = experiment.run(on_sample=print)
    assert not result.violations

Each probe returns True when the steady state holds (or raises, which is a
violation too). The fault is a context manager: it is undone on exit, also when
a probe or Ctrl-C interrupts the experiment.

A fault that touched no traffic tests no hypothesis: `prove` (the injector's
`require_proof`) runs after the fault, and when it raises InertFault the result
says so (`verdict` "inert") instead of judging the probes.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.errors import InertFault

BEFORE, DURING, AFTER = "before", "during", "after"
HELD, REFUTED, INERT = "held", "refuted", "inert"
PROBE_INTERVAL_S = 0.5
#: How long the system may take to settle after the fault ends, seconds.
DEFAULT_RECOVERY_S = 10.0


@dataclass(frozen=True)
class Probe:
    name: str
    holds: Callable[[], bool]
    #: Must it hold while the fault is active? (False: only before and after.)
    during_fault: bool = True


@dataclass(frozen=True)
class Sample:
    at_s: float
    phase: str
    probe: str
    ok: bool
    detail: str = ""


@dataclass
class ExperimentResult:
    name: str
    samples: list[Sample] = field(default_factory=list)
    recovered_after_s: float | None = None
    #: Why the fault proves nothing (it touched no traffic); None when it hit.
    inert_fault: str | None = None

    @property
    def verdict(self) -> str:
        if self.inert_fault is not None:
            return INERT
        return REFUTED if self.violations else HELD

    @property
    def violations(self) -> list[str]:
        seen: dict[tuple[str, str], Sample] = {}
        for s in self.samples:
            if not s.ok:
                seen.setdefault((s.phase, s.probe), s)
        return [
            f"{probe} failed {phase} the fault at {s.at_s:.1f}s: {s.detail}"
            for (phase, probe), s in seen.items()
            if phase != AFTER or self.recovered_after_s is None
        ]

    def timeline(self, probe: str) -> list[tuple[float, float]]:
        return [(s.at_s, 1.0 if s.ok else 0.0) for s in self.samples if s.probe == probe]


@dataclass
class Experiment:
    name: str
    steady_state: list[Probe]
    fault: Callable[[], contextlib.AbstractContextManager[Any]]
    duration_s: float
    recovery_s: float = DEFAULT_RECOVERY_S
    interval_s: float = PROBE_INTERVAL_S
    #: Raises InertFault when the fault touched no traffic (FaultInjector.require_proof).
    prove: Callable[[], None] | None = None

    def run(self, on_sample: Callable[[Sample], None] | None = None) -> ExperimentResult:
        result = ExperimentResult(self.name)
        started = time.monotonic()

        def probe_all(phase: str) -> bool:
            healthy = True
            for probe in self.steady_state:
                if phase == DURING and not probe.during_fault:
                    continue
                sample = _sample(probe, phase, time.monotonic() - started)
                result.samples.append(sample)
                healthy &= sample.ok
                if on_sample is not None:
                    on_sample(sample)
            return healthy

        if not probe_all(BEFORE):
            return result  # no steady state to begin with: the fault would prove nothing
        with self.fault():
            fault_started = time.monotonic()
            while time.monotonic() - fault_started < self.duration_s:
                probe_all(DURING)
                time.sleep(self.interval_s)
        result.recovered_after_s = self._recover(probe_all)
        if self.prove is not None:
            try:
                self.prove()
            except InertFault as exc:
                result.inert_fault = str(exc)
        return result

    def _recover(self, probe_all: Callable[[str], bool]) -> float | None:
        ended = time.monotonic()
        while time.monotonic() - ended < self.recovery_s:
            if probe_all(AFTER):
                return time.monotonic() - ended
            time.sleep(self.interval_s)
        return None


def _sample(probe: Probe, phase: str, at_s: float) -> Sample:
    try:
        ok = bool(probe.holds())
        return Sample(at_s, phase, probe.name, ok, "" if ok else "steady state not met")
    except Exception as exc:  # any error of the probed system breaks the steady state
        return Sample(at_s, phase, probe.name, False, f"{type(exc).__name__}: {exc}"[:300])
