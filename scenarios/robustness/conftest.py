"""Fixtures of the robustness checks."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def profile(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--readiness-profile"))
