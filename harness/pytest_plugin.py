"""The harness's pytest plugin: fixtures that start the stack for tests and scenarios."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.platform.local import LocalPlatform


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalPlatform]:
    """The whole local stack, started once per test session and always torn down."""
    platform = LocalPlatform()
    platform.up()
    try:
        yield platform
    finally:
        platform.down()
