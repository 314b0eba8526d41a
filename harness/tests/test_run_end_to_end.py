"""`readiness run --profile smoke` from a stopped state: verdict, report path, the report.

How long a smoke run takes is a figure of the report (its duration), not a pass mark
here: on a loaded machine the same run takes twice as long and is no less right."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from harness.waiting import eventually

#: A bound on the whole run, so a hang ends the test (a quiet machine needs about 5 min).
SMOKE_BOUND_S = 1200.0
#: Bounds on bringing the stack up until the checks start, and on taking it down.
UP_BOUND_S = 300.0
DOWN_BOUND_S = 120.0
#: What `readiness` exits with when it was interrupted (Ctrl-C or SIGTERM).
INTERRUPTED = 130


@pytest.mark.timeout(SMOKE_BOUND_S + 60)  # the suite's 600 s would cut the bound short
def test_smoke_run_prints_the_verdict_and_writes_the_report(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "run",
            "--profile",
            "smoke",
            "--report-root",
            str(tmp_path),
            "--gate",
        ],
        capture_output=True,
        text=True,
        timeout=SMOKE_BOUND_S,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr[-3000:]
    assert "verdict:" in result.stderr and "report:" in result.stderr
    latest = tmp_path / "latest"
    results = json.loads((latest / "results.json").read_text())
    assert results["profile"] == "smoke" and results["total"] > 0
    assert result.returncode == (1 if results["verdict"] in ("NO-GO", "INCONCLUSIVE") else 0)
    for name in ("report.md", "report.html", "junit.xml", "pytest.log"):
        assert (latest / name).is_file(), name
    assert any((latest / "allure-results").glob("*-attachment.json")), "no evidence in Allure"
    assert (latest / "logs" / "postgres.log").is_file()


def _checks_started(report_root: Path) -> bool:
    """The run's pytest log has begun: the stack is up and the checks are running."""
    return any(log.stat().st_size > 0 for log in report_root.glob("*/pytest.log"))


def _alive(processes: list[psutil.Process]) -> list[str]:
    alive = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(" ".join(process.cmdline())[:120])
        except psutil.NoSuchProcess:
            continue
    return alive


@pytest.mark.timeout(UP_BOUND_S + DOWN_BOUND_S + 60)
def test_sigterm_takes_the_stack_down_and_leaves_no_verdict(tmp_path: Path) -> None:
    """A cancelled CI job (SIGTERM) leaves nothing running, PostgreSQL included (it runs as
    another user, so it outlives a process that dies at once), and publishes no verdict."""
    argv = [sys.executable, "-m", "harness.cli", "run", "--profile", "smoke",
            "--category", "degraded", "--report-root", str(tmp_path)]  # fmt: skip
    errors = tmp_path / "stderr.txt"
    with errors.open("w") as stderr:
        run = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        eventually(lambda: _checks_started(tmp_path), UP_BOUND_S, 1.0, "the checks starting")
        stack = psutil.Process(run.pid).children(recursive=True)
        names = {process.name() for process in stack}
        run.send_signal(signal.SIGTERM)
        code = run.wait(timeout=DOWN_BOUND_S)
    finally:
        if run.poll() is None:
            run.kill()
    assert code == INTERRUPTED, errors.read_text()[-2000:]
    assert "postgres" in names, f"the stack ran no PostgreSQL to leave behind: {names}"
    assert not _alive(stack), f"left running after SIGTERM: {_alive(stack)}"
    assert not list(tmp_path.glob("*/results.json")), "a run stopped part-way has a verdict"
