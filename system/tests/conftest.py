"""Session-scoped local stack for the integration tests (see tests/stack.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.stack import Stack, local_stack


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    with local_stack() as running:
        yield running
