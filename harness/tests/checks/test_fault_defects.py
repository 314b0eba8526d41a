"""The fault checks against the catalogue's defects, end to end.

Each defect's patch is applied to a copy of `system/`, a stack of the services
the check needs runs from the copy, and the real scenario runs against it
through the plugin: the check must fail, or be unknown when the defect makes
its fault inert — never pass.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
DEFECTS = REPO / "harness" / "selftest" / "defects"
REDIS_OUTAGE = "scenarios/degraded/test_redis_outage.py::test_auth_works_during_redis_outage"
S3_FLAKY = "scenarios/degraded/test_s3_outage.py::test_flaky_s3_is_retried"
S3_DOWN = "scenarios/degraded/test_s3_outage.py::test_s3_outage_is_fenced"
AUTH = "gateway,auth"
STORAGE = "gateway,auth,storage"

#: defect -> (the scenario to run, the services it needs, what the check's message says)
CASES = {
    # The steady-state guard sees auth degraded before the check starts: unknown.
    "DEF-DEG-AUTH-REDIS-HARDCODED": (REDIS_OUTAGE, AUTH, "auth: degraded (redis: degraded)"),
    "DEF-DEG-REVOCATION-FAIL-OPEN": (REDIS_OUTAGE, AUTH, "'me after logout': 200"),
    # Completes fail, or (when the resets met none of them) no retry was counted.
    "DEF-DEG-S3-RESETS-NOT-RETRIED": (S3_FLAKY, STORAGE, ("completes failed", "no retry")),
    "DEF-DEG-S3-BREAKER-GAUGE-NEVER-SET": (S3_DOWN, STORAGE, "the breaker never opened"),
}


def _patched_system(defect: dict[str, object], workdir: Path) -> Path:
    shutil.copytree(REPO / "system", workdir / "system", ignore=shutil.ignore_patterns("tests"))
    patch = DEFECTS / str(defect["patch"])
    subprocess.run(["git", "apply", str(patch)], cwd=workdir, check=True, timeout=30)
    return workdir / "system"


@pytest.mark.stack
@pytest.mark.timeout(600)
@pytest.mark.parametrize("defect_id", sorted(CASES))
def test_the_check_catches_the_defect(defect_id: str, tmp_path: Path) -> None:
    defect = yaml.safe_load((DEFECTS / f"{defect_id}.yaml").read_text())
    (expected,) = defect["caught_by"]
    scenario, services, because = CASES[defect_id]
    results = tmp_path / "results.json"
    env = {
        **os.environ,
        "DEFECTIVE_SYSTEM": str(_patched_system(defect, tmp_path)),
        "DEFECTIVE_SERVICES": services,
    }
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", scenario]
    argv += ["-p", "harness.tests.checks.defective_stack", f"--readiness-results={results}"]
    run = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=540)
    assert results.is_file(), f"the scenario run broke:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    recorded = {r["check"]["id"]: r for r in json.loads(results.read_text())["results"]}
    got = recorded[expected["check"]]
    assert got["status"] == expected.get("expect", "fail"), (got["message"], run.stdout[-3000:])
    reasons = (because,) if isinstance(because, str) else because
    assert any(reason in got["message"] for reason in reasons), got["message"]
