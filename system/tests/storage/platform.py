"""The harness platform for the storage and backup suites: one per session, shared.

`system/tests/conftest.py` overrides the harness plugin's `stack` fixture with
the older stand-in stack, which has no S3 and no storage or backup service.
These suites need the real thing, so their conftests point `stack` back at
`session_platform`: the platform `readiness run` already started, else one
LocalPlatform for the whole session (both suites share it through the pytest
config, whichever starts first), stopped when the session ends.
"""

from __future__ import annotations

import pytest

from harness.checks.plugin import PLATFORM_KEY
from harness.platform.base import Platform
from harness.platform.local import LocalPlatform, default_components

#: The backends these suites exercise (the gateway always comes with them).
SERVICES = ("auth", "storage", "backup")
_OWN_PLATFORM = pytest.StashKey[Platform]()


def session_platform(config: pytest.Config) -> Platform:
    given = config.stash.get(PLATFORM_KEY, None)
    if given is not None:
        return given
    platform = config.stash.get(_OWN_PLATFORM, None)
    if platform is None:
        local = LocalPlatform(components=default_components(SERVICES))
        local.up()
        config.add_cleanup(local.down)
        config.stash[_OWN_PLATFORM] = platform = local
    return platform
