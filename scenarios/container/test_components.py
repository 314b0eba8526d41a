"""Each component of the shipped compose files, one check each: Docker keeps it healthy.

What Docker will run (the files rendered by the compose tool, in every stack that runs
the component) declares a health check with a start period and a restart policy that
restarts it by itself; when this stack runs the component, its health probe passes now
(a service's readiness and its /health). No fault is injected.
"""

from __future__ import annotations

import pytest

from harness import EvidenceLog, Platform, one_check_each
from harness.checks import components

COMPONENTS = {
    "CONT-001": "postgres",
    "CONT-002": "redis",
    "CONT-003": "s3",
    "CONT-004": "coturn",
    "CONT-005": "auth",
    "CONT-006": "chat",
    "CONT-007": "video",
    "CONT-008": "storage",
    "CONT-009": "backup",
    "CONT-010": "gateway",
    "CONT-011": "prometheus",
    "CONT-012": "alertmanager",
    "CONT-013": "grafana",
    "CONT-014": "toxiproxy",
}
#: The seed rates a missing health check on a data store or a service HIGH (users lose
#: what it serves), a missing start period MEDIUM; monitoring and the chaos proxy serve
#: no user, so their rows are MEDIUM.
TOOLING = ("prometheus", "alertmanager", "grafana", "toxiproxy")
SEVERITY = {item: "MEDIUM" if item in TOOLING else "HIGH" for item in COMPONENTS.values()}


@pytest.mark.parametrize(
    "component",
    one_check_each(
        COMPONENTS,
        "{item} declares a health check with a start period and restarts by itself",
        category="container",
        severity=SEVERITY,
        finding="Container health, {item}'s row: health check, restart policy, start period "
        "(HIGH for a data store or a service, whose users lose what it serves; MEDIUM for "
        "monitoring and the chaos proxy, as the seed's MEDIUM-1..3)",
        fix="Give {item} a healthcheck with a start_period and restart: unless-stopped in "
        "compose/, in every file that runs it.",
        impact="Docker cannot tell a starting {item} from a broken one, or leaves it down after "
        "a crash: what it serves is gone until a person notices.",
    ),
)
def test_component_keeps_itself_healthy(
    component: str, shipped: components.Shipped, stack: Platform, evidence: EvidenceLog
) -> None:
    defects = components.container_defects(shipped, component, evidence)
    defects += components.health_defects(stack, component, evidence)
    assert not defects, "; ".join(defects)
