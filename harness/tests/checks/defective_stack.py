"""A pytest plugin (`-p harness.tests.checks.defective_stack`) that hands the scenarios a
local stack whose services run a patched copy of `system/`, as `readiness run` hands
them its own stack: for showing a check fail (or be unknown) against a seeded defect.

DEFECTIVE_SYSTEM names the copy's `system/` folder; DEFECTIVE_SERVICES the services
to start (comma-separated). Without DEFECTIVE_SYSTEM the plugin does nothing.
"""

from __future__ import annotations

import os

import pytest

SYSTEM_VARIABLE = "DEFECTIVE_SYSTEM"
SERVICES_VARIABLE = "DEFECTIVE_SERVICES"


def pytest_configure(config: pytest.Config) -> None:
    system = os.environ.get(SYSTEM_VARIABLE)
    if not system:
        return
    # Imported here: the root conftest registers the plugin, which pytest must import first.
    from harness.checks.plugin import PLATFORM_KEY
    from harness.platform.components.services import Service
    from harness.platform.local import LocalPlatform, default_components

    services = [s for s in os.environ.get(SERVICES_VARIABLE, "").split(",") if s]
    components = default_components(services)
    for component in components:
        if isinstance(component, Service):
            # PYTHONPATH comes before site-packages, where the editable install points.
            component.extra_env["PYTHONPATH"] = system
    platform = LocalPlatform(components=components)
    platform.up()
    config.add_cleanup(platform.down)
    config.stash[PLATFORM_KEY] = platform
