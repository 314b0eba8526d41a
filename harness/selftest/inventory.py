"""The checks that exist: collected from the scenario suites, without running them."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.checks.model import Check
from harness.checks.registry import check_of
from harness.errors import HarnessError
from harness.run.runner import REPO_ROOT, SCENARIOS_DIR


@dataclass(frozen=True)
class CheckEntry:
    check: Check
    nodeid: str
    #: The test uses the running stack (directly or through another fixture).
    needs_stack: bool


class _Collector:
    def __init__(self) -> None:
        self.entries: dict[str, CheckEntry] = {}

    def pytest_itemcollected(self, item: pytest.Item) -> None:
        check = check_of(item)
        if check is not None:
            needs_stack = "stack" in getattr(item, "fixturenames", ())
            self.entries[check.id] = CheckEntry(check, item.nodeid, needs_stack)


def collect_checks(scenarios: Path = SCENARIOS_DIR) -> dict[str, CheckEntry]:
    """Every check of the scenario suites by id."""
    collector = _Collector()
    args = [
        str(scenarios),
        f"--rootdir={REPO_ROOT}",
        "--collect-only",
        "-q",
        "-p",
        "no:cacheprovider",
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
    ]
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = pytest.main(args, plugins=[collector])
    if code != pytest.ExitCode.OK:
        tail = " ".join(output.getvalue().split()[-40:])
        raise HarnessError(
            f"the scenario suites could not be collected (pytest exit {code}): {tail}"
        )
    return collector.entries
