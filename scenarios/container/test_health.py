"""Every component is healthy, and comes back healthy on its own after it crashes.

Healthy means what an orchestrator sees: every probe passes (a service's readiness and
its /health, the liveness probe its container health check calls), probe after probe
for a while, with no restart in between: one probe at the right moment proves little
about a component that flaps or crash-loops.
"""

from __future__ import annotations

import pytest

from harness import EvidenceLog, Platform, check
from harness.checks import container


#: The services' /health is what this check judges: a service that answers 503 there
#: fails it; the steady state before it asks only that they be ready.
@pytest.mark.steady_state(judges=("/health",))
@check(
    "HEALTH-001",
    "Every component passes its health probes, liveness and readiness, throughout a window",
    category="container",
    severity="BLOCKER",
    finding="Container health: services without working health checks",
    fix="Give every component a health probe that exercises its real dependencies.",
    impact="Traffic goes to components that cannot serve, or healthy ones are restarted: users "
    "see errors the dashboards do not.",
)
def test_every_component_is_healthy(stack: Platform, evidence: EvidenceLog) -> None:
    watch = container.watch_health(stack)
    evidence.number("observation window", container.OBSERVE_S, "s")
    evidence.number("rounds of probes", watch.rounds)
    for name, slowest in sorted(watch.slowest_ms.items()):
        evidence.number(f"{name} slowest probe", slowest, "ms")
    for name in watch.problems:
        evidence.component_log(stack, name)
    assert not watch.problems, f"unhealthy: {watch.problems}"


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
