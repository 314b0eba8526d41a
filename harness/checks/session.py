"""What the pytest session has produced when a check asks (the `run_so_far` fixture of
harness.checks.plugin): kept apart from the plugin, so importing the check library does
not import the plugin before pytest registers it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.checks.model import CheckResult


@dataclass(frozen=True)
class RunSoFar:
    """The results recorded so far, the folder the run writes into (None outside
    `readiness run`), pytest's config."""

    results: list[CheckResult]
    run_dir: Path | None
    config: pytest.Config
