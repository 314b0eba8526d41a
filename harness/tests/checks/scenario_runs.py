"""Run a module of checks with the harness's plugin, in a pytest subprocess of its own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


def run_checks(
    pytester: pytest.Pytester, scenario: str, *options: str
) -> dict[str, dict[str, Any]]:
    """Run `scenario` (the source of a test module) with `options`; each check's recorded
    result (status, message, evidence...), by check id."""
    pytester.makeconftest('pytest_plugins = ["harness.checks.plugin"]')
    pytester.makepyfile(test_scenario=scenario)
    results = Path(pytester.path) / "results.json"
    pytester.runpytest_subprocess(
        f"--readiness-results={results}", "-p", "no:cacheprovider", *options
    )
    return {r["check"]["id"]: r for r in json.loads(results.read_text())["results"]}
