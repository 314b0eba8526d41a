"""`readiness run --profile smoke` gives the same verdict on the local and compose backends.

Opt-in (READINESS_COMPARE_BACKENDS=1): two full smoke runs, about ten minutes on
two cores. On a difference it names the checks whose status differs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.platform.docker import ImageSet

RUN_DEADLINE_S = 900.0


def _smoke_run(backend: str, report_root: Path) -> dict[str, object]:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "run",
            "--backend",
            backend,
            "--profile",
            "smoke",
            "--report-root",
            str(report_root),
        ],
        capture_output=True,
        text=True,
        timeout=RUN_DEADLINE_S,
        check=False,
    )
    results: dict[str, object] = json.loads((report_root / "latest" / "results.json").read_text())
    return results


def _statuses(results: dict[str, object]) -> dict[str, str]:
    checks = results["results"]
    assert isinstance(checks, list)
    return {r["check"]["id"]: r["status"] for r in checks if r.get("in_scope", True)}


@pytest.mark.skipif(
    os.environ.get("READINESS_COMPARE_BACKENDS") != "1",
    reason="opt-in: READINESS_COMPARE_BACKENDS=1 runs the smoke profile on both backends",
)
def test_same_smoke_verdict_on_the_local_and_compose_backends(
    images: ImageSet, tmp_path: Path
) -> None:
    local = _smoke_run("local", tmp_path / "local")
    compose = _smoke_run("compose", tmp_path / "compose")
    differ = {
        check: (status, _statuses(compose).get(check))
        for check, status in _statuses(local).items()
        if _statuses(compose).get(check) != status
    }
    assert local["verdict"] == compose["verdict"], (
        f"local {local['verdict']} vs compose {compose['verdict']}; (local, compose) status of "
        f"the checks that differ: {differ}"
    )
