"""When the Docker backend counts a started container as ready: the host-side probe
passes and Docker has not called it unhealthy (its first health check runs only an
interval after the start)."""

from __future__ import annotations

from typing import Any

import pytest

from harness.platform.docker.engine import HealthyAndReady


def _state(health: str | None) -> dict[str, Any]:
    if health is None:
        return {"Status": "running"}
    return {"Status": "running", "Health": {"Status": health, "Log": [{"Output": "said so"}]}}


def _fails() -> None:
    raise ConnectionError("refused")


@pytest.mark.parametrize(
    ("health", "probe_passes", "ready"),
    [
        ("healthy", True, True),
        ("starting", True, True),
        ("starting", False, False),
        ("unhealthy", True, False),
        ("healthy", False, False),
        (None, True, True),
    ],
)
def test_ready_needs_the_probe_and_no_unhealthy_verdict(
    health: str | None, probe_passes: bool, ready: bool
) -> None:
    wait = HealthyAndReady((lambda: None) if probe_passes else _fails, deadline_s=1)
    assert wait._ready(_state(health)) is ready


@pytest.mark.parametrize(("health", "ready"), [("healthy", True), ("starting", False)])
def test_without_a_probe_only_docker_s_healthy_counts(health: str, ready: bool) -> None:
    assert HealthyAndReady(None, deadline_s=1)._ready(_state(health)) is ready
