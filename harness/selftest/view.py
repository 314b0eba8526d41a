"""What `readiness selftest` shows on the terminal (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import Progress as RichProgress
from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from harness.cli.console import OUTCOME_COLOUR
from harness.selftest.catalogue import Defect
from harness.selftest.engine import Progress
from harness.selftest.outcome import COLUMNS, DefectOutcome, SelftestOutcome, rows


class SelftestProgress(Progress):
    """A spinner naming the phase, a line per finished check and per judged defect."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = RichProgress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.task = self.progress.add_task("self-test", total=None)
        self.current = ""

    def __enter__(self) -> SelftestProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def phase(self, text: str) -> None:
        self.current = text
        self.progress.update(self.task, description=text)

    def component(self, name: str, state: str) -> None:
        self.progress.update(self.task, description=f"{self.current}: {name} {state}")

    def check(self, label: str, check_id: str, outcome: str) -> None:
        colour = OUTCOME_COLOUR.get(outcome, "white")
        self.console.print(f"  {label}: {check_id} [{colour}]{outcome}[/]", highlight=False)

    def defect_done(self, outcome: DefectOutcome) -> None:
        verdict = "[green]caught[/]" if outcome.caught else "[red]missed[/]"
        why = f": {outcome.why_missed()}" if not outcome.caught else ""
        self.console.print(
            f"{verdict} {outcome.defect.id} ({outcome.duration_s:.0f} s){why}", highlight=False
        )


#: Narrower than this, the result is one line per check instead of a table.
TABLE_MIN_WIDTH = 150


def print_outcome(console: Console, outcome: SelftestOutcome) -> None:
    if console.width >= TABLE_MIN_WIDTH:
        table = Table(title="self-test: seeded defects")
        for column in COLUMNS:
            table.add_column(column, overflow="fold", no_wrap=column != "title")
        for row in rows(outcome):
            colour = "green" if row[-1] == "caught" else "red"
            table.add_row(*row[:-1], f"[{colour}]{row[-1]}[/]")
        console.print(table)
    else:
        for defect, _title, check, expected, judged, expect, got, caught in rows(outcome):
            colour = "green" if caught == "caught" else "red"
            console.print(
                f"[{colour}]{caught:6}[/] {defect}: {check} {got} at {judged}"
                f" (expected {expect} at {expected})",
                highlight=False,
            )
    caught = len(outcome.defects) - len(outcome.missed)
    colour = "green" if not outcome.missed else "red"
    console.print(
        f"[bold {colour}]{caught} of {len(outcome.defects)} defects caught[/] "
        f"in {outcome.duration_s:.0f} s"
        + (f"; missed: {', '.join(d.defect.id for d in outcome.missed)}" if outcome.missed else "")
    )
    console.print(f"report: [bold]{outcome.run_dir / 'selftest.md'}[/] and selftest.json")


def print_catalogue(console: Console, defects: list[Defect]) -> None:
    table = Table(title=f"defect catalogue ({len(defects)})")
    for column in ("defect", "category", "kind", "caught by", "fast", "title"):
        table.add_column(column, overflow="fold", no_wrap=column == "defect")
    for d in defects:
        checks = ", ".join(f"{e.check} {e.severity} {e.expect}" for e in d.caught_by)
        table.add_row(d.id, d.category, d.kind, checks, "yes" if d.fast else "", d.title)
    console.print(table)
