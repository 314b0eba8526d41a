"""The `readiness` command as a user runs it: up, up --detach, down, Ctrl-C, bad input."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from harness.platform.base import StackInfo

UP_DEADLINE_S = 60.0


def readiness(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _stack_pids(info: StackInfo) -> list[int]:
    pids = []
    for component in info.components.values():
        assert component.pid is not None
        pids.append(component.pid)
        pids += [c.pid for c in psutil.Process(component.pid).children(recursive=True)]
    return pids


def _alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def test_up_detach_then_down_leaves_nothing_running(tmp_path: Path) -> None:
    state = tmp_path / "stack.json"
    started = time.monotonic()
    result = readiness("up", "--detach", "--service", "auth", "--state-file", str(state))
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert elapsed < UP_DEADLINE_S
    info = StackInfo.read(state)
    assert info.toxiproxy_api.startswith("http://127.0.0.1:")
    assert {
        "postgres",
        "redis",
        "s3",
        "toxiproxy",
        "prometheus",
        "alertmanager",
        "coturn",
        "capture",
    } <= set(info.components)
    assert info.components["redis"].proxy_name == "redis"
    assert json.loads(state.read_text())["components"]["postgres"]["proxy_listen"]
    pids = _stack_pids(info) + [info.supervisor_pid or 0]

    again = readiness("up", "--detach", "--state-file", str(state))
    assert again.returncode == 2 and "already up" in again.stderr

    result = readiness("down", "--state-file", str(state))
    assert result.returncode == 0, result.stderr
    assert _alive(pids) == []
    assert not state.exists()


#: Starts the rest of argv with SIGINT ignored, as a shell starts a background job.
SIGINT_IGNORED = [
    sys.executable,
    "-c",
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
    "os.execv(sys.argv[1], sys.argv[1:])",
]


def test_ctrl_c_on_a_foreground_stack_tears_it_down(tmp_path: Path) -> None:
    # Even when it inherited SIGINT ignored (started by `make test &`, a CI step).
    state, log = tmp_path / "stack.json", tmp_path / "up.log"
    argv = [*SIGINT_IGNORED, sys.executable, "-m", "harness.cli", "up", "--service", "auth"]
    argv += ["--state-file", str(state)]
    with log.open("wb") as stderr:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        deadline = time.monotonic() + UP_DEADLINE_S
        while not state.exists() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            time.sleep(0.2)
        pids = _stack_pids(StackInfo.read(state))
        proc.send_signal(signal.SIGINT)
        _wait_or_dump(proc, log, timeout_s=60)
    finally:
        proc.kill()
        proc.wait()  # reaped here, or its ResourceWarning fails whatever test runs next
    assert _alive(pids) == []
    assert not state.exists()


def _wait_or_dump(proc: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    """Wait for the CLI to exit; if it does not, fail with its threads' stacks (SIGUSR1)."""
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGUSR1)
        time.sleep(1)
        pytest.fail(f"still running {timeout_s:.0f}s after SIGINT:\n{log.read_text()[-6000:]}")


def test_down_without_a_stack_is_a_one_line_error(tmp_path: Path) -> None:
    result = readiness("down", "--state-file", str(tmp_path / "none.json"))
    assert result.returncode == 2
    assert "no stack state" in result.stderr
    assert "Traceback" not in result.stderr


def _one_line_error(result: subprocess.CompletedProcess[str], text: str) -> None:
    assert result.returncode == 2, result.stderr
    assert text in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_run_rejects_an_unknown_category_before_starting_anything(tmp_path: Path) -> None:
    result = readiness("run", "--category", "vibes", "--report-root", str(tmp_path))
    _one_line_error(result, "Invalid value for '--category': 'vibes' is not one of")
    assert list(tmp_path.iterdir()) == []


def test_run_rejects_a_broken_policy(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("no_go_on_failed: [BLOCKER\n")
    result = readiness("run", "--policy", str(policy), "--report-root", str(tmp_path))
    _one_line_error(result, "not valid YAML")


def test_report_diff_against_a_missing_or_corrupt_run(tmp_path: Path) -> None:
    (tmp_path / "good").mkdir()
    (tmp_path / "good" / "results.json").write_text("{}")
    _one_line_error(
        readiness("report", "--run", "missing", "--report-root", str(tmp_path)), "no results at"
    )
    _one_line_error(
        readiness("report", "--run", "good", "--report-root", str(tmp_path)), "are corrupt"
    )


def test_chaos_rejects_an_unknown_scenario_and_a_bad_duration() -> None:
    _one_line_error(readiness("chaos", "redis-melts"), "unknown scenario 'redis-melts'")
    _one_line_error(
        readiness("chaos", "redis-down", "--duration", "0"),
        "Invalid value for '--duration': '0' is not a positive duration",
    )
