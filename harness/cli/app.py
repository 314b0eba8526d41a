"""The `readiness` command: bring the stack up and down, break it, judge it.

Every failure the harness can explain is a HarnessError and prints as one
line on stderr with exit code 2.
"""

from __future__ import annotations

import faulthandler
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from harness.checks.scoring import DEFAULT_POLICY, Policy
from harness.cli.console import (
    ComponentTable,
    RunProgress,
    print_verdict,
    run_experiment,
    stack_summary,
)
from harness.cli.options import (
    Backend,
    Categories,
    ChaosDuration,
    PolicyFile,
    Profile,
    ReportRoot,
    Scenario,
    SelftestShard,
    Services,
    StackFile,
    StateFile,
    ip_address,
)
from harness.errors import ConfigError, HarnessError, StartupError
from harness.load.cli import load as load_command
from harness.platform.backends import backend_named, create_platform
from harness.platform.base import StackInfo
from harness.platform.supervisor import serve_foreground, start_detached, take_down
from harness.report.pdf import print_pdf
from harness.report.publish import rerender
from harness.run.chaos import HELD, INERT, REFUTED
from harness.run.chaos_catalogue import validate_scenario
from harness.run.runner import RunOptions, new_run_id, run_suite
from harness.selftest.catalogue import DEFECTS_DIR, Shard, load_catalogue, select
from harness.selftest.engine import Selftest
from harness.selftest.outcome import write as write_outcome
from harness.selftest.view import SelftestProgress, print_catalogue, print_outcome

DEFAULT_STATE_FILE = Path("reports") / "stack.json"
EXIT_HARNESS_ERROR = 2
#: `readiness chaos` exit codes by verdict: an inert fault tested nothing.
CHAOS_EXIT = {HELD: 0, REFUTED: 1, INERT: EXIT_HARNESS_ERROR}

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Production-readiness harness for SecureConnect.",
)
console = Console(stderr=True, soft_wrap=True)


@app.command()
def up(
    backend: Backend = "local",
    detach: Annotated[
        bool, typer.Option(help="Leave the stack running in the background.")
    ] = False,
    supervised: Annotated[bool, typer.Option(hidden=True)] = False,
    state_file: StateFile = DEFAULT_STATE_FILE,
    service: Services = None,
) -> None:
    """Start the stack and keep it up until Ctrl-C (or `readiness down` with --detach)."""
    chosen = backend_named(backend)
    if not chosen.starts_stack:
        raise ConfigError(
            f"--backend {backend} judges a stack that is already up (readiness run --backend "
            f"{backend} --stack FILE); readiness up starts one"
        )
    if (detach or supervised) and not chosen.detaches:
        raise ConfigError(
            f"--detach is not for the {backend} backend; run its stack in the foreground"
        )
    if detach:
        with console.status("starting the stack in the background..."):
            log = state_file.parent / "stack-supervisor.log"
            info = start_detached(backend, state_file, log, service)
        console.print(stack_summary(info))
        console.print(f"state in [bold]{state_file}[/]; stop it with [bold]readiness down[/]")
        return
    if supervised:
        serve_foreground(backend, state_file, services=service)
        return
    progress = ComponentTable(console)

    def announce(info: StackInfo) -> None:
        progress.live.stop()
        console.print(stack_summary(info))
        console.print(f"state in [bold]{state_file}[/]; Ctrl-C stops the stack")

    with progress.live:
        serve_foreground(backend, state_file, progress=progress, on_up=announce, services=service)


@app.command()
def down(state_file: StateFile = DEFAULT_STATE_FILE) -> None:
    """Stop a stack started with `readiness up --detach`."""
    with console.status("stopping the stack..."):
        killed = take_down(state_file)
    if killed:
        console.print(f"killed leftover components: {', '.join(killed)}")
    console.print("stack down")


@app.command()
def run(
    backend: Backend = "local",
    profile: Profile = "smoke",
    category: Categories = None,
    gate: Annotated[bool, typer.Option(help="Exit 1 when the verdict fails the gate.")] = False,
    policy: PolicyFile = DEFAULT_POLICY,
    report_root: ReportRoot = Path("reports"),
    service: Services = None,
    pdf: Annotated[bool, typer.Option(help="Also print the report to report.pdf.")] = False,
    stack: StackFile = None,
) -> None:
    """Start the stack (or attach to a running one: --backend attach --stack FILE), run the
    scenario suites, and write the scored readiness report."""
    options = RunOptions(backend, profile, category or [], gate, report_root, policy)
    options.services = service
    options.stack_file = stack
    options.validate()
    progress = RunProgress(console)
    with progress:
        outcome = run_suite(options, progress.component, progress.check)
    print_verdict(console, outcome.scorecard, outcome.run_dir, outcome.badge)
    if pdf:
        _print_pdf(outcome.run_dir)
    raise typer.Exit(outcome.exit_code)


def _print_pdf(run_dir: Path) -> None:
    with console.status("printing report.pdf with Chromium..."):
        printed = print_pdf(run_dir / "report.html")
    console.print(f"pdf: [bold]{printed}[/]")


@app.command()
def report(
    run_id: Annotated[
        str, typer.Option("--run", help="Run id or folder; default: latest.")
    ] = "latest",
    diff: Annotated[str | None, typer.Option(help="Compare with this run id or folder.")] = None,
    policy: PolicyFile = DEFAULT_POLICY,
    report_root: ReportRoot = Path("reports"),
    pdf: Annotated[
        bool, typer.Option(help="Also print report.html to report.pdf with headless Chromium.")
    ] = False,
) -> None:
    """Render a run's report again: against the newest earlier run of the same scope, or
    the run given with --diff."""
    published = rerender(report_root, run_id, diff, Policy.load(policy))
    print_verdict(console, published.card, published.run_dir, published.badge)
    if pdf:
        _print_pdf(published.run_dir)


@app.command()
def chaos(
    scenario: Scenario,
    duration: ChaosDuration = 30.0,
    service: Services = None,
    backend: Backend = "local",
    stack: StackFile = None,
) -> None:
    """Start the stack (or attach to one), apply one fault, and watch the steady state before,
    during, after.

    Exit 0 when the hypothesis held, 1 when it was refuted, 2 when the fault
    touched no traffic (nothing was tested) or the harness failed.
    """
    platform = create_platform(backend, service, stack_file=stack)
    validate_scenario(scenario, platform)
    attached = not backend_named(backend).starts_stack
    with console.status("checking the stack..." if attached else "starting the stack..."):
        platform.up()
    try:
        outcome = run_experiment(platform, scenario, duration, console)
    finally:
        with console.status("letting go..." if attached else "stopping the stack..."):
            platform.down()
    raise typer.Exit(CHAOS_EXIT[outcome.verdict])


@app.command()
def selftest(
    defect: Annotated[
        list[str] | None, typer.Option(help="Only this defect id (repeatable).")
    ] = None,
    fast: Annotated[bool, typer.Option(help="Only the fast subset (what make test runs).")] = False,
    list_only: Annotated[bool, typer.Option("--list", help="List the catalogue and exit.")] = False,
    shard: SelftestShard = None,
    report_root: Annotated[
        Path, typer.Option(help="Where the self-test folder goes.", file_okay=False)
    ] = Path("reports"),
    catalogue: Annotated[
        Path, typer.Option(help="The defect catalogue folder.", exists=True, file_okay=False)
    ] = DEFECTS_DIR,
) -> None:
    """Apply each seeded defect to a copy of the system and show the checks catch it."""
    part = Shard.parse(shard) if shard else None
    chosen = select(load_catalogue(catalogue), defect or [], fast, part)
    if list_only:
        print_catalogue(console, chosen)
        return
    run_dir = report_root / f"selftest-{new_run_id()}"
    with SelftestProgress(console) as progress:
        outcome = Selftest(chosen, run_dir, Policy.load(DEFAULT_POLICY), progress).run()
    write_outcome(outcome)
    print_outcome(console, outcome)
    raise typer.Exit(outcome.exit_code)


#: `readiness load`: Locust journeys against the stack, judged by loadtests/slo.yaml.
app.command(name="load")(load_command)


@app.command()
def toxiproxy(
    host: Annotated[str, typer.Option(help="Address for the API.", callback=ip_address)] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port for the API.", min=1, max=65535)] = 8474,
) -> None:
    """Run the embedded toxiproxy-compatible server in the foreground."""
    from harness.toxiproxy.server.__main__ import main as serve

    raise typer.Exit(serve(["--host", host, "--port", str(port)]))


def main() -> None:
    # SIGTERM (a CI job cancelled, `kill`) stops every command as Ctrl-C does: the stack
    # is taken down and nothing it started is left running. Python's default would end
    # the process at once, leaving PostgreSQL (started as another user) behind.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    # A shell starts a background job (`cmd &` in a script, a CI step) with SIGINT
    # ignored, and Python keeps an ignored SIGINT ignored: Ctrl-C (or `kill -INT`)
    # would then not stop the stack at all.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # `kill -USR1 PID` prints every thread's stack to stderr: where a stuck run waits.
    # The process's own stderr: sys.stderr may be a stand-in without a descriptor.
    faulthandler.register(signal.SIGUSR1, file=sys.__stderr__, all_threads=True)
    try:
        # Without standalone mode click returns a command's typer.Exit code instead of exiting.
        code = app(standalone_mode=False)
    except HarnessError as exc:
        line = "; ".join(part.strip() for part in str(exc).splitlines() if part.strip())
        console.print(f"[red]error:[/] {escape(line)}", highlight=False)
        if isinstance(exc, StartupError) and exc.log_tail:
            console.print(exc.log_tail, markup=False, highlight=False)
        sys.exit(EXIT_HARNESS_ERROR)
    except (typer.Abort, KeyboardInterrupt):
        sys.exit(130)
    except typer.TyperException as exc:  # usage errors: unknown option, bad value
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        console.print(f"[red]error:[/] {escape(message)}", highlight=False)
        sys.exit(EXIT_HARNESS_ERROR)
    if isinstance(code, int) and code:
        sys.exit(code)
