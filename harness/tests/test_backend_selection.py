"""`readiness run` selects the checks judged on its backend: a check written for the local
backend only is reported not judged elsewhere, never run and failed there."""

from __future__ import annotations

import json
from pathlib import Path

from harness.platform.base import StackInfo
from harness.run.runner import RunOptions, run_suite

SCENARIO = """
from harness import check


@check("T-001", "everywhere", category="security", severity="LOW")
def test_everywhere():
    pass


@check("T-002", "local only", category="security", severity="LOW", backends=("local",))
def test_local_only():
    raise AssertionError("judged on a backend it was not written for")
"""


def test_a_local_only_check_is_not_run_on_another_backend(tmp_path: Path) -> None:
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "conftest.py").write_text('pytest_plugins = ["harness.checks.plugin"]\n')
    (scenarios / "test_selection.py").write_text(SCENARIO)
    stack = tmp_path / "stack.json"
    stack.write_text(StackInfo(components={}).model_dump_json())
    options = RunOptions(
        backend="attach",
        report_root=tmp_path / "reports",
        scenarios=scenarios,
        stack_file=stack,
    )
    outcome = run_suite(options)
    results = json.loads((outcome.run_dir / "results.json").read_text())["results"]
    statuses = {r["check"]["id"]: (r["status"], r["in_scope"]) for r in results}
    assert statuses["T-001"] == ("pass", True)
    assert statuses.get("T-002", ("not run", False))[1] is False
