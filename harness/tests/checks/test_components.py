"""The per-component rows (CONT, RES, CONN): each rule fails on a rendering or a /ready
answer with the defect it guards against, and names only the component that has it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.checks.evidence import EvidenceLog
from harness.checks.library import components
from harness.checks.library.compose_rendered import Rendered

HEALTHY: dict[str, Any] = {
    "healthcheck": {"test": ["CMD", "true"], "start_period": "30s"},
    "restart": "unless-stopped",
    "mem_limit": "256m",
    "cpus": 0.5,
}
APP = (components.APP_FILE,)


def _shipped(**services: dict[str, Any]) -> components.Shipped:
    rendered = Rendered(components.APP_FILE, dict(services), (), "")
    return components.Shipped(((APP, rendered),))


def _with(**changes: Any) -> dict[str, Any]:
    return {**HEALTHY, **changes}


@pytest.mark.parametrize(
    ("service", "defect"),
    [
        (_with(healthcheck={"test": ["CMD-SHELL", ""], "start_period": "30s"}), "no health check"),
        (_with(healthcheck={"disable": True}), "no health check"),
        (_with(healthcheck={"test": ["CMD", "true"]}), "without start_period"),
        (_with(restart="on-failure:3"), "restart policy 'on-failure:3'"),
        ({k: v for k, v in HEALTHY.items() if k != "restart"}, "restart policy 'no'"),
    ],
)
def test_a_container_row_fails_on_its_own_component(service: dict[str, Any], defect: str) -> None:
    shipped = _shipped(s3=service, redis=HEALTHY)
    defects = components.container_defects(shipped, "s3", EvidenceLog())
    assert len(defects) == 1 and defect in defects[0], defects
    assert components.container_defects(shipped, "redis", EvidenceLog()) == []


def test_a_component_no_file_runs_is_a_defect() -> None:
    defects = components.container_defects(_shipped(redis=HEALTHY), "grafana", EvidenceLog())
    assert defects == ["grafana: in none of the shipped compose files"]


def test_a_limit_row_fails_on_a_limit_that_renders_unlimited() -> None:
    shipped = _shipped(video=_with(mem_limit="0"), coturn=_with(cpus=None), redis=HEALTHY)
    assert "renders to '0'" in components.limit_defects(shipped, "video", EvidenceLog())[0]
    assert "no CPU limit" in components.limit_defects(shipped, "coturn", EvidenceLog())[0]
    assert components.limit_defects(shipped, "redis", EvidenceLog()) == []
    assert components.memory_limit_mib(shipped, "redis") == 256
    assert components.memory_limit_mib(shipped, "video") is None


def test_declared_dependencies_follow_a_one_shot_step_to_what_it_needs() -> None:
    migrations = {"labels": {"com.secureconnect.oneshot": "true"}, "depends_on": ["postgres"]}
    shipped = _shipped(
        migrations=migrations,
        auth={"depends_on": {"migrations": {}, "redis": {}}},
        gateway={"depends_on": {"auth": {}, "chat": {}}},
    )
    assert components.declared_dependencies(shipped, "auth") == ["postgres", "redis"]
    assert components.declared_dependencies(shipped, "gateway") == ["auth", "chat"]


def test_readiness_names_every_declared_dependency_and_reports_it_ok() -> None:
    ready = {"postgres": "ok", "chat-1": "ok", "chat-2": "degraded", "turn": "ok", "smtp": "ok"}
    defects = components.readiness_defects(["postgres", "chat", "coturn", "redis"], ready)
    assert defects == [
        "/ready reports chat-2 degraded, not ok",
        "/ready does not name redis, a dependency it declares",
    ]


def test_the_shipped_stacks_are_the_application_monitoring_and_chaos_drill(
    tmp_path: Path,
) -> None:
    stacks = components.shipped_stacks(tmp_path)
    assert [[p.name for p in s] for s in stacks] == [list(s) for s in components.SHIPPED_STACKS]
    assert components.deployment_env_files(tmp_path) == [None]
    (tmp_path / "offline").mkdir()
    (tmp_path / components.OFFLINE_IMAGES).write_text("")
    assert components.deployment_env_files(tmp_path)[1] == tmp_path / components.OFFLINE_IMAGES


def test_connects_tells_a_refused_address() -> None:
    assert components.connects(("127.0.0.1", 1)).startswith("refused")
