"""`readiness load`: Locust against the stack, SLOs judged, results in the report.

Exit codes follow the CLI: 0 every SLO met, 1 an SLO breached, 2 bad input, a
harness error (raised as HarnessError; `harness.cli.main` prints one line) or a
fault that touched no traffic (nothing judged).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from harness.checks.scoring import DEFAULT_POLICY, Policy
from harness.cli.console import ComponentTable
from harness.cli.options import (
    FaultDuration,
    FaultScenario,
    LoadDuration,
    PolicyFile,
    ReportRoot,
    StateFile,
    refusing,
)
from harness.load.evaluate import SloReport
from harness.load.report import publish_load, utc_now
from harness.load.session import (
    DEFAULT_FAULT_S,
    MAX_WORKERS,
    LoadOptions,
    LoadOutcome,
    run_load,
)
from harness.load.slo import DEFAULT_SLO_FILE
from harness.load.target import Target, check_loopback
from harness.run.runner import new_run_id

console = Console(stderr=True, soft_wrap=True)


def slo_table(report: SloReport, title: str) -> Table:
    table = Table(title=title)
    for column in ("journey", "metric", "step", "measured", "SLO", "result"):
        table.add_column(column)
    colour = {"waived": "yellow", "met": "green", "BREACHED": "red"}
    for m in report.measures:
        verdict = f"[{colour.get(m.verdict, 'dim')}]{m.verdict}[/]"
        table.add_row(m.journey, m.metric, m.step, m.measured_text, m.limit_text, verdict)
    return table


def print_outcome(outcome: LoadOutcome, run_dir: Path) -> None:
    load = outcome.load_average
    title = (
        f"SLOs: {outcome.users} users, {outcome.workers or 'no'} workers; "
        f"load average {load.get('start')} → {load.get('end')}"
    )
    console.print(slo_table(outcome.report, title))
    for name in outcome.report.unassigned:
        console.print(f"[yellow]not in any journey of the SLO file:[/] {name}")
    if outcome.window is not None:
        for phase, journeys in outcome.phases.items():
            cells = ", ".join(
                f"{j} {s.failures}/{s.requests} failed, p95≤{s.max_p95_ms or 0:.0f} ms"
                for j, s in sorted(journeys.items())
            )
            console.print(f"{phase} {outcome.window.scenario}: {cells}")
    for proof in outcome.fault_proof:
        console.print(f"fault: {proof}", markup=False, highlight=False)
    breaches = len(outcome.report.breaches)
    verdict = "[green]all SLOs met[/]" if not breaches else f"[red]{breaches} SLO(s) breached[/]"
    if outcome.inert_fault is not None:
        verdict = "[yellow]fault inert: the run under the fault is not judged[/]"
    console.print(f"{verdict}; results in [bold]{outcome.load_dir}[/], report in {run_dir}")


def load(
    users: Annotated[int, typer.Option(help="Simulated users.", min=1)] = 20,
    spawn_rate: Annotated[float, typer.Option(help="Users started per second.", min=0.01)] = 10.0,
    duration: LoadDuration = 30.0,
    workers: Annotated[
        int, typer.Option(help="Locust workers (0: one process).", min=0, max=MAX_WORKERS)
    ] = 0,
    fault: FaultScenario = None,
    fault_duration: FaultDuration = DEFAULT_FAULT_S,
    slo: Annotated[
        Path, typer.Option(help="SLO thresholds (YAML).", exists=True, dir_okay=False)
    ] = DEFAULT_SLO_FILE,
    target: Annotated[
        str | None,
        typer.Option(
            help="Gateway URL on 127.0.0.1 (default: the running stack).",
            callback=refusing(check_loopback),
        ),
    ] = None,
    state_file: StateFile = Path("reports") / "stack.json",
    policy: PolicyFile = DEFAULT_POLICY,
    report_root: ReportRoot = Path("reports"),
) -> None:
    """Run Locust's journeys against the stack and judge them against the SLOs."""
    options = LoadOptions(
        users, spawn_rate, duration, workers, fault, fault_duration, slo, target, state_file
    )
    options.validate()
    verdict_policy = Policy.load(policy)
    run_id, started_at, began = new_run_id(), utc_now(), time.monotonic()
    run_dir = report_root / run_id
    components = ComponentTable(console)
    running = console.status(f"load: {users} users for {duration:g}s...")

    def starting() -> None:
        console.print("no stack is up: starting a local stack for this run")
        components.live.start()

    def announce(chosen: Target) -> None:
        components.live.stop()
        console.print(f"target: [bold]{chosen.url}[/] ({chosen.source})")
        running.start()

    try:
        outcome = run_load(options, run_dir / "load", announce, components, starting)
    finally:
        running.stop()
        components.live.stop()
    publish_load(
        outcome, run_dir, run_id, started_at, time.monotonic() - began, verdict_policy,
        report_root,
    )  # fmt: skip
    print_outcome(outcome, run_dir)
    raise typer.Exit(outcome.exit_code)
