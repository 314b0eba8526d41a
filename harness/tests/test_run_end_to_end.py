"""`readiness run --profile smoke` from a stopped state: verdict, report path, in time."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

SMOKE_DEADLINE_S = 300.0


def test_smoke_run_prints_the_verdict_and_writes_the_report(tmp_path: Path) -> None:
    started = time.monotonic()
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
        timeout=SMOKE_DEADLINE_S + 60,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert result.returncode in (0, 1), result.stderr[-3000:]
    assert elapsed < SMOKE_DEADLINE_S, f"smoke run took {elapsed:.0f}s"
    assert "verdict:" in result.stderr and "report:" in result.stderr
    latest = tmp_path / "latest"
    results = json.loads((latest / "results.json").read_text())
    assert results["profile"] == "smoke" and results["total"] > 0
    assert result.returncode == (1 if results["verdict"] in ("NO-GO", "INCONCLUSIVE") else 0)
    for name in ("report.md", "report.html", "junit.xml", "pytest.log"):
        assert (latest / name).is_file(), name
    assert any((latest / "allure-results").glob("*-attachment.json")), "no evidence in Allure"
    assert (latest / "logs" / "postgres.log").is_file()
