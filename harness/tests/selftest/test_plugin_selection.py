"""--readiness-check runs the named checks only, whatever their profile; unknown ids are errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

SCENARIO = """
from harness import check


@check("T-001", "t", category="config", severity="LOW")
def test_one():
    pass


@check("T-002", "t", category="config", severity="LOW", profile="full")
def test_two():
    pass


@check("T-003", "t", category="core", severity="LOW")
def test_three(compose_dir):
    assert compose_dir.name == "elsewhere"


@check("T-004", "t", category="config", severity="LOW", backends=("local",))
def test_four():
    pass
"""


def statuses(pytester: pytest.Pytester, *args: str) -> dict[str, str]:
    pytester.makeconftest('pytest_plugins = ["harness.checks.plugin"]')
    pytester.makepyfile(test_scenario=SCENARIO)
    results = Path(pytester.path) / "results.json"
    pytester.runpytest_subprocess(f"--readiness-results={results}", "-p", "no:cacheprovider", *args)
    return {r["check"]["id"]: r["status"] for r in json.loads(results.read_text())["results"]}


def test_named_checks_run_whatever_their_profile(pytester: pytest.Pytester) -> None:
    got = statuses(
        pytester,
        "--readiness-profile=smoke",
        "--readiness-check=T-002",
        "--readiness-check=T-003",
        "--readiness-compose-dir=/tmp/elsewhere",
    )
    assert got == {"T-001": "not run", "T-002": "pass", "T-003": "pass", "T-004": "not run"}


def test_a_check_of_another_backend_is_left_out_even_when_named(
    pytester: pytest.Pytester,
) -> None:
    got = statuses(pytester, "--readiness-backend=docker", "--readiness-check=T-004")
    assert got["T-004"] == "not run"
    assert statuses(pytester, "--readiness-check=T-004")["T-004"] == "pass"


def test_an_unknown_check_id_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["harness.checks.plugin"]')
    pytester.makepyfile(test_scenario=SCENARIO)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--readiness-check=T-999")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*no collected check has the id T-999*"])
