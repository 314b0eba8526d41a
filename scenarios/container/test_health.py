"""Every component is healthy, and comes back healthy on its own after it crashes."""

from __future__ import annotations

import time

from harness import EvidenceLog, Platform, check
from harness.checks.library import container


@check(
    "HEALTH-001",
    "Every component passes its health probe",
    category="container",
    severity="BLOCKER",
    finding="Container health: services without working health checks",
    fix="Give every component a health probe that exercises its real dependencies.",
    impact="Traffic goes to components that cannot serve, or healthy ones are restarted: users "
    "see errors the dashboards do not.",
)
def test_every_component_is_healthy(stack: Platform, evidence: EvidenceLog) -> None:
    unhealthy = {}
    for name in stack.names():
        started = time.monotonic()
        try:
            stack.probe(name)
        except Exception as exc:  # a probe's failure is the finding, whatever its type
            unhealthy[name] = f"{type(exc).__name__}: {exc}"
        evidence.number(f"{name} probe", (time.monotonic() - started) * 1000, "ms")
    for name in unhealthy:
        evidence.component_log(stack, name)
    assert not unhealthy, f"unhealthy: {unhealthy}"


@check(
    "HEALTH-002",
    "Every component comes back healthy by itself within 30 s of a SIGKILL",
    category="container",
    severity="HIGH",
    finding="Container restart stability: restart policies and start periods",
    fix="restart: unless-stopped on every service, with a health check and start_period.",
    impact="A crash becomes an outage that lasts until a person restarts the component.",
)
def test_components_recover_from_a_crash(stack: Platform, evidence: EvidenceLog) -> None:
    stuck = []
    for name in stack.names():
        elapsed = container.recovery_time(stack, name)
        evidence.number(f"{name} healthy again after SIGKILL", elapsed or -1, "s")
        if elapsed is None:
            stuck.append(name)
            evidence.component_log(stack, name)
    assert not stuck, f"not healthy {container.RESTART_DEADLINE_S:.0f}s after a SIGKILL: {stuck}"
