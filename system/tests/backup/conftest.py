"""Fixtures of the backup suite: the real platform (shared with the storage suite)."""

from __future__ import annotations

import pytest

from harness.platform.base import Platform
from tests.storage.platform import session_platform


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest) -> Platform:
    return session_platform(request.config)
