"""Each component of the shipped compose files, one check each: bounded memory and CPU.

What Docker will run (the files rendered by the compose tool) gives the component a
positive memory and CPU limit, in every stack that runs it; when this stack runs the
component, its resident memory is within that limit right now (as RES-001 measures it).
"""

from __future__ import annotations

import pytest

from harness import EvidenceLog, Platform, one_check_each
from harness.checks import components

COMPONENTS = {
    "RES-003": "gateway",
    "RES-004": "auth",
    "RES-005": "chat",
    "RES-006": "video",
    "RES-007": "storage",
    "RES-008": "backup",
    "RES-009": "postgres",
    "RES-010": "redis",
    "RES-011": "s3",
    "RES-012": "coturn",
}


@pytest.mark.parametrize(
    "component",
    one_check_each(
        COMPONENTS,
        "{item} has positive memory and CPU limits and stays within its memory limit",
        category="resources",
        severity="HIGH",
        finding="HIGH-7 / MEDIUM-11, {item}'s row: containers without memory and CPU limits "
        "(HIGH for every row: one unbounded container takes the host from all the others)",
        fix="Give {item} mem_limit and cpus that render to positive values in compose/, and "
        "size its caches under the limit.",
        impact="An unbounded {item} can take the host's memory or CPU, and the OOM killer then "
        "picks a victim; one over its limit is killed under production limits.",
    ),
)
def test_component_is_bounded(
    component: str, shipped: components.Shipped, stack: Platform, evidence: EvidenceLog
) -> None:
    defects = components.limit_defects(shipped, component, evidence)
    limit_mib = components.memory_limit_mib(shipped, component)
    defects += components.memory_defects(stack, component, limit_mib, evidence)
    assert not defects, "; ".join(defects)
