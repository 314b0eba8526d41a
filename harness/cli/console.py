"""What the `readiness` command shows on the terminal (rich)."""

from __future__ import annotations

import threading
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from harness.checks.scoring import Scorecard, Verdict
from harness.faults.injector import FaultInjector
from harness.platform.base import Platform, StackInfo
from harness.run.chaos import Experiment, ExperimentResult, Sample
from harness.run.chaos_catalogue import default_steady_state, fault_for

STATE_COLOUR = {"starting": "yellow", "healthy": "green", "failed": "red"}
OUTCOME_COLOUR = {"passed": "green", "failed": "red", "skipped": "grey50"}
VERDICT_COLOUR = {
    Verdict.GO: "green",
    Verdict.CONDITIONAL: "yellow",
    Verdict.INCONCLUSIVE: "magenta",
    Verdict.NO_GO: "red",
}


class ComponentTable:
    """A live table of components as they come up.

    Called from the platform's start-up threads (a wave starts in parallel),
    hence the lock around the states and the redraw.
    """

    def __init__(self, console: Console) -> None:
        self.states: dict[str, str] = {}
        self._lock = threading.Lock()
        self.live = Live(self._render(), console=console, transient=False)

    def _render(self) -> Table:
        table = Table(title="stack")
        table.add_column("component")
        table.add_column("state")
        for name, state in self.states.items():
            table.add_row(name, f"[{STATE_COLOUR.get(state, 'white')}]{state}[/]")
        return table

    def __call__(self, component: str, state: str) -> None:
        with self._lock:
            self.states[component] = state
            self.live.update(self._render())


class RunProgress:
    """A spinner per phase of `readiness run`, with a line per finished check."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.stack_task = self.progress.add_task("starting the stack", total=None)
        self.checks_task = self.progress.add_task("checks", total=None, visible=False)
        self.finished = 0

    def __enter__(self) -> RunProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def component(self, name: str, state: str) -> None:
        self.progress.update(self.stack_task, description=f"stack: {name} {state}")

    def check(self, nodeid: str, outcome: str) -> None:
        self.finished += 1
        self.progress.update(self.stack_task, visible=False)
        self.progress.update(
            self.checks_task, visible=True, description=f"checks: {self.finished} finished"
        )
        colour = OUTCOME_COLOUR.get(outcome, "white")
        self.console.print(f"[{colour}]{outcome:>7}[/] {nodeid}", highlight=False)


def stack_summary(info: StackInfo) -> Table:
    """Every component where a user reaches it: whole URLs, folded rather than cut in a
    narrow terminal (`reports/stack.json` has the same as JSON)."""
    table = Table(title=f"stack up ({info.backend})")
    for column in ("component", "url or address", "pid", "toxiproxy proxy"):
        table.add_column(column, overflow="fold")
    for c in info.components.values():
        proxy = f"{c.proxy_name} @ {c.proxy_listen}" if c.proxy_name else ""
        table.add_row(c.name, c.url or c.address, str(c.pid or ""), proxy)
    return table


def _severity_cell(failed: int, unknown: int) -> str:
    """Failed and unknown checks of a severity: two BLOCKER checks that did not run are
    not "0 blockers"."""
    parts = [f"[red]{failed} failed[/]"] if failed else []
    parts += [f"[magenta]{unknown} unknown[/]"] if unknown else []
    return ", ".join(parts) or "0"


def print_verdict(console: Console, card: Scorecard, run_dir: Path, badge: str = "") -> None:
    table = Table(title="readiness by category")
    for column in ("category", "score", "passed", "blockers", "high", "medium"):
        table.add_column(column)
    for c in card.categories:
        table.add_row(
            c.title,
            f"{(c.score or 0):.0%}",
            f"{c.passed}/{c.total}",
            *(
                _severity_cell(c.failed_by_severity.get(s, 0), c.unknown_by_severity.get(s, 0))
                for s in ("BLOCKER", "HIGH", "MEDIUM")
            ),
        )
    console.print(table)
    colour = VERDICT_COLOUR[card.verdict]
    console.print(
        f"verdict: [bold {colour}]{escape(badge or str(card.verdict))}[/] — score "
        f"{card.score:.0%} ({card.passed}/{card.total}); " + escape("; ".join(card.reasons))
    )
    console.print(f"report: [bold]{run_dir / 'report.md'}[/] and {run_dir / 'report.html'}")


def run_experiment(
    platform: Platform, scenario: str, duration_s: float, console: Console
) -> ExperimentResult:
    """Run one chaos scenario, printing every probe as it is taken."""
    injector = FaultInjector(platform)
    experiment = Experiment(
        name=scenario,
        steady_state=default_steady_state(platform),
        fault=fault_for(scenario, injector),
        duration_s=duration_s,
        prove=injector.require_proof,
    )
    console.print(
        f"hypothesis: {', '.join(p.name for p in experiment.steady_state)} "
        f"hold before, during and after [bold]{scenario}[/] ({duration_s:g}s)"
    )

    def show(sample: Sample) -> None:
        mark = "[green]ok[/]" if sample.ok else f"[red]FAIL[/] {sample.detail}"
        console.print(f"{sample.at_s:6.1f}s {sample.phase:>6} {sample.probe}: {mark}")

    try:
        result = experiment.run(on_sample=show)
    finally:
        injector.restore()
    for window in injector.windows:
        console.print(f"fault: {window.describe()}", markup=False, highlight=False)
    if result.inert_fault is not None:
        console.print(
            "[yellow]fault inert, hypothesis not tested:[/] " + escape(result.inert_fault)
        )
    elif result.violations:
        console.print("[red]hypothesis refuted:[/] " + escape("; ".join(result.violations)))
    else:
        console.print(
            f"[green]hypothesis held[/]; recovered {result.recovered_after_s:.1f}s after the fault"
        )
    return result
