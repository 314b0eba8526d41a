"""Every option of every command: the forms users type are accepted, a bad value is one
line naming the option and exit 2, before anything starts."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
import typer
from rich.console import Console
from typer.main import get_command

from harness import cli
from harness.checks.model import Status
from harness.cli.console import stack_summary
from harness.cli.options import parse_duration
from harness.platform.base import ComponentInfo, StackInfo
from harness.tests.report.runs import make, publish_run

#: A bad value per option name (or command:option when one command's differs).
BAD_VALUES = {
    "backend": "mainframe",
    "profile": "huge",
    "category": "vibes",
    "service": "nosuch",
    "state-file": "/",
    "stack": "/nonexistent/stack.json",
    "policy": "/nonexistent/policy.yaml",
    "report-root": __file__,
    "run": "missing",
    "diff": "missing",
    "duration": "forever",
    "fault-duration": "0s",
    "users": "many",
    "spawn-rate": "0",
    "workers": "-1",
    "fault": "redis-melts",
    "slo": "/nonexistent/slo.yaml",
    "target": "ftp://example.org",
    "defect": "DEF-NOT-IN-THE-CATALOGUE",
    "shard": "4/3",
    "catalogue": __file__,
    "host": "not an address",
    "port": "70000",
}
#: Arguments a command needs before the option under test is reached.
PREFIX = {"chaos": ["redis-down"]}


def _options() -> list[tuple[str, str]]:
    group = get_command(cli.app)
    assert isinstance(group, typer.core.TyperGroup)
    return [
        (name, max(param.opts, key=len))
        for name, command in sorted(group.commands.items())
        for param in command.params
        if param.param_type_name == "option" and not param.is_flag and not param.hidden
    ]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["readiness", *argv])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    return int(exited.value.code or 0), capsys.readouterr().err


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("command", "option"), _options())
def test_a_bad_value_is_one_line_naming_the_option(
    command: str, option: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    assert option[2:] in BAD_VALUES, f"{command} {option}: add a bad value to BAD_VALUES"
    argv = [command, *PREFIX.get(command, []), option, BAD_VALUES[option[2:]]]
    if command == "report" and option != "--report-root":
        stored = publish_run(tmp_path, "stored", [make("SEC-001", Status.PASS)])
        argv += ["--report-root", str(tmp_path)]
        argv += ["--run", stored.run_dir.name] if option == "--diff" else []
    code, err = _run(argv, capsys, monkeypatch)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert option in err and "Traceback" not in err, err


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("1.5", 1.5), ("60s", 60), ("2m", 120), ("1h30m", 5400), ("1m30.5s", 90.5),
     (" 2M ", 120)],
)  # fmt: skip
def test_durations_read_as_locust_reads_run_time(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "s", "forever", "-5", "0", "0s", "1d", "inf", "nan", "5 m"])
def test_a_bad_duration_is_refused(text: str) -> None:
    with pytest.raises(typer.BadParameter):
        parse_duration(text)


def test_the_stack_table_shows_whole_urls_in_an_80_column_terminal() -> None:
    components = {
        "postgres": ComponentInfo(
            name="postgres",
            address="127.0.0.1:54321",
            pid=4242,
            proxy_name="postgres",
            proxy_listen="127.0.0.1:54322",
        ),
        "gateway": ComponentInfo(
            name="gateway", address="127.0.0.1:43210", url="http://127.0.0.1:43210", pid=4343
        ),
        "chat-2": ComponentInfo(
            name="chat-2", address="127.0.0.1:43211", url="http://127.0.0.1:43211", pid=4444
        ),
    }
    info = StackInfo(
        backend="local",
        run_dir="reports/x",
        toxiproxy_api="http://127.0.0.1:8474",
        components=components,
    )
    screen = Console(width=80, record=True, file=io.StringIO())
    screen.print(stack_summary(info))
    text = screen.export_text()
    assert "…" not in text
    for url in ("http://127.0.0.1:43210", "http://127.0.0.1:43211", "127.0.0.1:54321"):
        assert url in text, text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_a_default_duration_passes_through() -> None:
    assert parse_duration(30.0) == 30.0
