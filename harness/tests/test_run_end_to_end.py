"""`readiness run --profile smoke` from a stopped state: verdict, report path, the report.

How long a smoke run takes is a figure of the report (its duration), not a pass mark
here: on a loaded machine the same run takes twice as long and is no less right."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

#: A bound on the whole run, so a hang ends the test (a quiet machine needs about 5 min).
SMOKE_BOUND_S = 1200.0


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
