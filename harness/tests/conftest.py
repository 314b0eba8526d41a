"""Small real stacks the harness's own tests break: Redis behind Toxiproxy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.platform.components.datastores import Redis
from harness.platform.components.edge import Toxiproxy
from harness.platform.local import LocalPlatform


@pytest.fixture(scope="module")
def redis_behind_toxiproxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPlatform]:
    platform = LocalPlatform(
        tmp_path_factory.mktemp("stack"), [Redis(), Toxiproxy()], restart=False
    )
    platform.up()
    yield platform
    platform.down()
