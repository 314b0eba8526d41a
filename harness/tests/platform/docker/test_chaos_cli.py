"""`readiness chaos --backend compose`: one fault on the container stack, by hand."""

from __future__ import annotations

import subprocess
import sys

from harness.platform.docker import ImageSet

CHAOS_DEADLINE_S = 300.0


def test_a_chaos_experiment_runs_on_the_container_stack(images: ImageSet) -> None:
    argv = [
        sys.executable, "-m", "harness.cli", "chaos", "redis-down",
        "--duration", "5", "--backend", "compose", "--service", "auth",
    ]  # fmt: skip
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=CHAOS_DEADLINE_S, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "hypothesis held" in result.stderr, result.stderr[-3000:]  # rich prints to stderr
