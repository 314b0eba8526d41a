"""`readiness load` refuses bad input with one line and exit code 2, before any load."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.platform.ports import free_port

#: Bad input is refused before a stack or Locust starts: well under this.
REFUSAL_DEADLINE_S = 30


def readiness_load(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [
        sys.executable, "-m", "harness.cli", "load",
        "--state-file", str(tmp_path / "stack.json"),
        "--report-root", str(tmp_path / "reports"),
        *args,
    ]  # fmt: skip
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=REFUSAL_DEADLINE_S, check=False
    )


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize("users", ["0", "-5"])
def test_users_must_be_positive(tmp_path: Path, users: str) -> None:
    line = _one_line_error(readiness_load(tmp_path, "--users", users))
    assert "Invalid value for '--users': Input should be greater than or equal to 1" in line


def test_an_invalid_slo_file_names_the_field(tmp_path: Path) -> None:
    slo = tmp_path / "slo.yaml"
    slo.write_text("journeys:\n  chat: {p95_ms: fast}\n")
    line = _one_line_error(readiness_load(tmp_path, "--slo", str(slo)))
    assert "journeys.chat.p95_ms" in line and str(slo) in line


def test_an_unreachable_target_is_refused(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    line = _one_line_error(readiness_load(tmp_path, "--target", url))
    assert f"target {url} is unreachable" in line
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())


def test_load_never_leaves_this_machine(tmp_path: Path) -> None:
    line = _one_line_error(readiness_load(tmp_path, "--target", "http://example.com"))
    assert "not on 127.0.0.1" in line


def test_a_fault_needs_room_around_it(tmp_path: Path) -> None:
    args = ("--fault", "redis-down", "--duration", "20", "--fault-duration", "15")
    line = _one_line_error(readiness_load(tmp_path, *args))
    assert "leaves no steady load around a 15s fault" in line
