"""The full profile as collected: every check says what its failure costs (the report's
"Impact" line), and the suite is as fine-grained as the seed audit it answers."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from harness.checks.model import SEED_ROWS

REPO_ROOT = Path(__file__).resolve().parents[3]
COLLECT_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def checks(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    results = tmp_path_factory.mktemp("collect") / "results.json"
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
    return [r["check"] for r in json.loads(results.read_text())["results"]]


def test_every_check_states_its_impact_fix_and_finding(checks: list[dict[str, Any]]) -> None:
    assert len(checks) > 50, f"only {len(checks)} checks collected"
    for field in ("impact", "fix", "finding"):
        missing = sorted(c["id"] for c in checks if not c[field].strip())
        assert not missing, f"checks without {field}: {', '.join(missing)}"


def test_the_full_profile_has_a_row_for_every_row_of_the_seed(
    checks: list[dict[str, Any]],
) -> None:
    """At least the seed's 102 checks, and in each of its categories at least its rows."""
    ids = [c["id"] for c in checks]
    assert len(ids) == len(set(ids)), "a check id is used twice"
    assert len(checks) >= sum(SEED_ROWS.values())
    ours = Counter(c["category"] for c in checks)
    short = {k: f"{ours[k]} < {n}" for k, n in SEED_ROWS.items() if ours[k] < n}
    assert not short, f"categories with fewer checks than the seed's rows: {short}"
