"""The `readiness` command: bring the stack up and down, break it, judge it.

Every failure the harness can explain is a HarnessError and prints as one
line on stderr with exit code 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from harness.errors import HarnessError, StartupError
from harness.platform.base import StackInfo
from harness.platform.supervisor import serve_foreground, start_detached, take_down

DEFAULT_STATE_FILE = Path("reports") / "stack.json"
EXIT_HARNESS_ERROR = 2

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Production-readiness harness for SecureConnect.",
)
console = Console(stderr=True)
StateFile = Annotated[Path, typer.Option(help="Where the running stack is described.")]


class _ProgressTable:
    """A live table of components as they come up."""

    def __init__(self) -> None:
        self.states: dict[str, str] = {}
        self.live = Live(self._render(), console=console, transient=False)

    def _render(self) -> Table:
        table = Table(title="stack", show_header=True)
        table.add_column("component")
        table.add_column("state")
        colour = {"starting": "yellow", "healthy": "green", "failed": "red"}
        for name, state in self.states.items():
            table.add_row(name, f"[{colour.get(state, 'white')}]{state}[/]")
        return table

    def __call__(self, component: str, state: str) -> None:
        self.states[component] = state
        self.live.update(self._render())


def _summary(info: StackInfo) -> Table:
    table = Table(title=f"stack up ({info.backend})")
    for column in ("component", "address", "url", "pid", "toxiproxy proxy"):
        table.add_column(column)
    for c in info.components.values():
        proxy = f"{c.proxy_name} @ {c.proxy_listen}" if c.proxy_name else ""
        table.add_row(c.name, c.address, c.url or "", str(c.pid or ""), proxy)
    return table


@app.command()
def up(
    backend: Annotated[str, typer.Option(help="local (processes)")] = "local",
    detach: Annotated[
        bool, typer.Option(help="Leave the stack running in the background.")
    ] = False,
    supervised: Annotated[bool, typer.Option(hidden=True)] = False,
    state_file: StateFile = DEFAULT_STATE_FILE,
) -> None:
    """Start the stack and keep it up until Ctrl-C (or `readiness down` with --detach)."""
    if backend != "local":
        raise HarnessError(f"unknown backend {backend!r}; available: local")
    if detach:
        with console.status("starting the stack in the background..."):
            info = start_detached(state_file, state_file.parent / "stack-supervisor.log")
        console.print(_summary(info))
        console.print(f"state in [bold]{state_file}[/]; stop it with [bold]readiness down[/]")
        return
    if supervised:
        serve_foreground(state_file)
        return
    progress = _ProgressTable()

    def announce(info: StackInfo) -> None:
        progress.live.stop()
        console.print(_summary(info))
        console.print(f"state in [bold]{state_file}[/]; Ctrl-C stops the stack")

    with progress.live:
        serve_foreground(state_file, progress=progress, on_up=announce)


@app.command()
def down(state_file: StateFile = DEFAULT_STATE_FILE) -> None:
    """Stop a stack started with `readiness up --detach`."""
    with console.status("stopping the stack..."):
        killed = take_down(state_file)
    if killed:
        console.print(f"killed leftover components: {', '.join(killed)}")
    console.print("stack down")


@app.command()
def toxiproxy(
    host: Annotated[str, typer.Option(help="Address for the API.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port for the API.")] = 8474,
) -> None:
    """Run the embedded toxiproxy-compatible server in the foreground."""
    from harness.faults.server.__main__ import main as serve

    raise typer.Exit(serve(["--host", host, "--port", str(port)]))


def main() -> None:
    try:
        app(standalone_mode=False)
    except HarnessError as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
        if isinstance(exc, StartupError) and exc.log_tail:
            console.print(exc.log_tail, markup=False, highlight=False)
        sys.exit(EXIT_HARNESS_ERROR)
    except (typer.Abort, KeyboardInterrupt):
        sys.exit(130)
    except click.ClickException as exc:  # usage errors: unknown option, bad value
        exc.show()
        sys.exit(EXIT_HARNESS_ERROR)


if __name__ == "__main__":
    main()
