"""`readiness run --backend attach --stack FILE` against the stack of `readiness up --detach`:
the same verdict as the local backend on the same checks, the checks that kill and pause
processes run through the pids the stack file grants, and the stack is left running."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil
import pytest

from harness.platform.base import StackInfo

pytestmark = pytest.mark.stack

#: Secrets, the CA and logs (security), Toxiproxy and pause / kill (connectivity),
#: SIGKILL and restart counts of every component (container).
CATEGORIES = ("security", "connectivity", "container")
#: Checks that need control over processes: they must have run, not been refused.
PROCESS_CHECKS = ("HEALTH-002", "CONN-002", "CONN-004")
RUN_TIMEOUT_S = 600


def readiness(*args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "harness.cli", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False)


def _run(report_root: Path, *args: str) -> dict[str, Any]:
    categories = [f"--category={c}" for c in CATEGORIES]
    result = readiness("run", *categories, "--report-root", str(report_root), *args)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((report_root / "latest" / "results.json").read_text())


def _judged(results: dict[str, Any]) -> dict[str, str]:
    return {r["check"]["id"]: r["status"] for r in results["results"] if r["in_scope"]}


def test_attach_judges_a_detached_stack_as_the_local_backend_does(tmp_path: Path) -> None:
    state = tmp_path / "stack.json"
    up = readiness("up", "--detach", "--service", "auth", "--state-file", str(state))
    assert up.returncode == 0, up.stderr[-3000:]
    try:
        attached = _run(tmp_path / "attach", "--backend", "attach", "--stack", str(state))
        info = StackInfo.read(state)
        assert info.supervisor_pid is not None and psutil.pid_exists(info.supervisor_pid)
    finally:
        down = readiness("down", "--state-file", str(state))
    assert down.returncode == 0, down.stderr
    local = _run(tmp_path / "local", "--backend", "local", "--service", "auth")

    assert attached["backend"] == "attach" and local["backend"] == "local"
    assert _judged(attached) == _judged(local)
    assert attached["verdict"] == local["verdict"]
    assert attached["scope"]["badge"] == local["scope"]["badge"]
    for check_id in PROCESS_CHECKS:
        assert _judged(attached)[check_id] == "pass", check_id
    assert (tmp_path / "attach" / "latest" / "logs" / "auth.log").is_file()
