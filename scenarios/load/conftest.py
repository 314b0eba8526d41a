"""Where a load check leaves Locust's output: beside the run's report when
`readiness run` runs it (`<run>/load/<check id>/`), else in the test's tmp dir."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harness import EvidenceLog, Platform
from harness.checks import LoadOptions, LoadOutcome, load_evidence, load_on_stack


@pytest.fixture
def load_dir(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    histories = request.config.getoption("--readiness-histories")
    base = histories.parent / "load" if histories is not None else tmp_path
    return base / request.node.name


@pytest.fixture
def profile(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--readiness-profile"))


@pytest.fixture
def run_load_check(
    stack: Platform, load_dir: Path, evidence: EvidenceLog
) -> Callable[[LoadOptions], LoadOutcome]:
    """Run the journeys against the stack and record the outcome as the check's evidence."""

    def run(options: LoadOptions) -> LoadOutcome:
        outcome = load_on_stack(stack, options, load_dir)
        evidence.items.extend(load_evidence(outcome))
        return outcome

    return run
