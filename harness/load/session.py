"""One load run: Locust against the target, an optional fault mid-run, SLOs judged.

    outcome = run_load(LoadOptions(users=100, duration_s=120, fault="redis-down"))
    outcome.report.passed          # every SLO met?

Everything lands in `reports/<run-id>/load/`: Locust's CSVs, HTML and logs,
`summary.json` (SLO measures, fault window, phases, timeline series, load
average) and `timeline.html` (the charts).

A fault that touched no traffic (`FaultInjector.require_proof`) tests nothing:
the outcome then says the fault was inert (`inert_fault`, exit code 2) instead
of judging the run.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, HarnessError, InertFault
from harness.faults.injector import FaultInjector
from harness.load.chart import window_chart
from harness.load.evaluate import SloReport, evaluate_run, evaluate_window
from harness.load.locust import LocustPlan, LocustProcesses
from harness.load.slo import DEFAULT_SLO_FILE, SloFile, load_slo
from harness.load.stats import LocustStats, read_stats
from harness.load.target import Target, resolve_target
from harness.load.timeline import FaultWindow, PhaseStats, phases, phases_json, series
from harness.platform.local import ProgressCallback
from harness.run.chaos_catalogue import fault_for, validate_scenario

#: At least this much steady load before and after a fault, seconds.
FAULT_MARGIN_S = 10.0
DEFAULT_FAULT_S = 30.0
#: Workers beyond this on one machine only measure the machine.
MAX_WORKERS = 16


@dataclass
class LoadOptions:
    users: int = 20
    spawn_rate: float = 10.0
    duration_s: float = 30.0
    workers: int = 0
    fault: str | None = None
    fault_s: float = DEFAULT_FAULT_S
    slo_path: Path = DEFAULT_SLO_FILE
    target: str | None = None
    state_file: Path = Path("reports") / "stack.json"

    def validate(self) -> SloFile:
        """Refuse bad input before anything starts; returns the validated SLO file."""
        if self.users <= 0:
            raise ConfigError(f"--users must be at least 1, got {self.users}")
        if self.spawn_rate <= 0:
            raise ConfigError(f"--spawn-rate must be positive, got {self.spawn_rate:g}")
        if self.duration_s <= 0:
            raise ConfigError(f"--duration must be positive, got {self.duration_s:g}")
        if not 0 <= self.workers <= MAX_WORKERS:
            raise ConfigError(f"--workers must be 0..{MAX_WORKERS}, got {self.workers}")
        if self.fault is not None and self.duration_s < self.fault_s + 2 * FAULT_MARGIN_S:
            raise ConfigError(
                f"--duration {self.duration_s:g}s leaves no steady load around a "
                f"{self.fault_s:g}s fault: use at least {self.fault_s + 2 * FAULT_MARGIN_S:g}s"
            )
        return load_slo(self.slo_path)

    @property
    def fault_offset_s(self) -> float:
        """When the fault starts after the run did: the fault window is centred."""
        return max(FAULT_MARGIN_S, (self.duration_s - self.fault_s) / 2)


@dataclass
class LoadOutcome:
    load_dir: Path
    target: str
    target_source: str
    users: int
    workers: int
    stats: LocustStats
    report: SloReport
    window: FaultWindow | None = None
    phases: dict[str, dict[str, PhaseStats]] = field(default_factory=dict)
    load_average: dict[str, list[float]] = field(default_factory=dict)
    timeline: dict[str, Any] = field(default_factory=dict)
    #: The fault and what it touched, as proven (or not) by FaultInjector.
    fault_proof: list[str] = field(default_factory=list)
    #: Why the fault proves nothing (it touched no traffic); None when it hit.
    inert_fault: str | None = None

    @property
    def exit_code(self) -> int:
        """0 every SLO met, 1 one breached, 2 the fault was inert (nothing judged)."""
        if self.inert_fault is not None:
            return 2
        return 0 if self.report.passed else 1


@dataclass
class FaultRun:
    """When the fault was on, and whether it touched traffic."""

    window: FaultWindow | None = None
    proof: list[str] = field(default_factory=list)
    inert: str | None = None


def _load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _drive(options: LoadOptions, target: Target, plan: LocustPlan) -> FaultRun:
    """Run Locust to its end, with the fault on in the middle of the run if asked."""
    with LocustProcesses(plan) as locust:
        started = locust.wait_started()
        run = FaultRun()
        if options.fault is not None:
            if not locust.wait_until(started + options.fault_offset_s):
                raise HarnessError("Locust ended before the fault was due")
            run = _inject(options.fault, options.fault_s, target, locust)
        locust.wait_finished()
    return run


def _inject(scenario: str, fault_s: float, target: Target, locust: LocustProcesses) -> FaultRun:
    """The fault for `fault_s` seconds while Locust runs, undone, and its proof."""
    assert target.stack is not None
    injector = FaultInjector(target.stack)
    run = FaultRun()
    try:
        with fault_for(scenario, injector)():
            fault_started = time.time()
            locust.wait_until(fault_started + fault_s)
            run.window = FaultWindow(scenario, fault_started, time.time())
    finally:
        problems = injector.restore()
    if problems:
        raise HarnessError(f"could not undo the fault: {'; '.join(problems)}")
    run.proof = [window.describe() for window in injector.windows]
    try:
        injector.require_proof()
    except InertFault as exc:
        run.inert = str(exc)
    return run


def run_load(
    options: LoadOptions,
    load_dir: Path,
    on_target: Callable[[Target], None] | None = None,
    progress: ProgressCallback | None = None,
    on_starting_stack: Callable[[], None] | None = None,
) -> LoadOutcome:
    """Validate, find (or start) the target, run, judge."""
    slo = options.validate()
    need_faults = options.fault is not None
    with resolve_target(
        options.target, options.state_file, need_faults, progress, on_starting_stack
    ) as target:
        if on_target is not None:
            on_target(target)
        return run_on(target, options, load_dir, slo)


def run_on(
    target: Target, options: LoadOptions, load_dir: Path, slo: SloFile | None = None
) -> LoadOutcome:
    """Run against a target already chosen (a check's stack, say) and judge the run."""
    slo = slo or options.validate()
    if options.fault is not None:
        if target.stack is None:
            raise ConfigError("--fault needs a stack whose Toxiproxy and processes it can reach")
        validate_scenario(options.fault, target.stack)
    plan = LocustPlan(
        target.url, options.users, options.spawn_rate, options.duration_s, load_dir,
        options.workers,
    )  # fmt: skip
    before = _load_average()
    fault = _drive(options, target, plan)
    after = _load_average()
    return judge(options, slo, target, plan, fault, {"start": before, "end": after})


def judge(
    options: LoadOptions,
    slo: SloFile,
    target: Target,
    plan: LocustPlan,
    fault: FaultRun,
    load_average: dict[str, list[float]],
) -> LoadOutcome:
    window = fault.window
    stats = read_stats(plan.csv_prefix)
    chaos = slo.chaos.get(window.scenario) if window is not None else None
    report = evaluate_run(stats, slo, options.users, chaos.degraded if chaos else None)
    outcome = LoadOutcome(
        plan.out_dir, target.url, target.source, options.users, options.workers, stats, report,
        window, load_average=load_average, fault_proof=fault.proof, inert_fault=fault.inert,
    )  # fmt: skip
    if stats.history:
        started = min(r.timestamp for r in stats.history)
        outcome.timeline = series(stats.history, started)
        if window is not None:
            outcome.phases = phases(stats.history, window)
            if chaos is not None:
                evaluate_window(outcome.phases, chaos, report)
    write_outputs(outcome)
    return outcome


def fault_seconds(outcome: LoadOutcome) -> tuple[float, float] | None:
    if outcome.window is None or not outcome.stats.history:
        return None
    started = min(r.timestamp for r in outcome.stats.history)
    return outcome.window.started_at - started, outcome.window.ended_at - started


def charts(outcome: LoadOutcome) -> list[str]:
    window = fault_seconds(outcome)
    latency = {j: s["p95_ms"] for j, s in outcome.timeline.items()}
    errors = {j: s["errors_per_s"] for j, s in outcome.timeline.items()}
    return [
        window_chart(latency, "p95 latency by journey (worst step, rolling)", " ms", window),
        window_chart(errors, "failures per second by journey", "/s", window),
    ]


def summary(outcome: LoadOutcome) -> dict[str, Any]:
    return {
        "target": outcome.target,
        "target_source": outcome.target_source,
        "users": outcome.users,
        "workers": outcome.workers,
        "load_average": outcome.load_average,
        "slo": outcome.report.to_json(),
        "fault": asdict(outcome.window) if outcome.window else None,
        "fault_proof": outcome.fault_proof,
        "inert_fault": outcome.inert_fault,
        "fault_seconds": fault_seconds(outcome),
        "phases": phases_json(outcome.phases),
        "timeline": outcome.timeline,
        "workers_reporting": sum(r.requests for r in outcome.stats.meta),
        "total_requests": sum(r.requests for r in outcome.stats.journey_rows),
        "total_failures": sum(r.failures for r in outcome.stats.journey_rows),
    }


def write_outputs(outcome: LoadOutcome) -> None:
    outcome.load_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(summary(outcome), indent=2, default=str) + "\n"
    (outcome.load_dir / "summary.json").write_text(text)
    body = "\n".join(f"<div>{chart}</div>" for chart in charts(outcome))
    page = f'<!doctype html><meta charset="utf-8"><title>load timeline</title>{body}\n'
    (outcome.load_dir / "timeline.html").write_text(page)
