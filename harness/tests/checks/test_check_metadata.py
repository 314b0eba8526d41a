"""Every check of the suite says what its failure costs: the report's "Impact" line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
COLLECT_TIMEOUT_S = 300


def test_every_check_states_its_impact_fix_and_finding(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "scenarios",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "--readiness-profile=full",
            f"--readiness-results={results}",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=COLLECT_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    checks = [r["check"] for r in json.loads(results.read_text())["results"]]
    assert len(checks) > 50, f"only {len(checks)} checks collected"
    for field in ("impact", "fix", "finding"):
        missing = sorted(c["id"] for c in checks if not c[field].strip())
        assert not missing, f"checks without {field}: {', '.join(missing)}"
