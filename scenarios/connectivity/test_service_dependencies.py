"""Each service, one check each: its dependencies are the ones it declares, reachable,
and every data-store edge of it can be cut.

Steady state: /ready names every dependency docker-compose.yml declares for the service
(depends_on) and reports each ok. Fault: each data store it uses, cut at its Toxiproxy
proxy. Expectation: the service's /ready sees the cut (its edge runs through the proxy,
so a drill's fault reaches it). Proof: the harness's own connection through the proxy
is refused during the cut; without it the check is unknown.
"""

from __future__ import annotations

import pytest

from harness import AddressOf, EvidenceLog, FaultInjector, Platform, one_check_each
from harness.checks import components

SERVICES = {
    "CONN-005": "gateway",
    "CONN-006": "auth",
    "CONN-007": "chat",
    "CONN-008": "video",
    "CONN-009": "storage",
    "CONN-010": "backup",
}


@pytest.mark.parametrize(
    "service",
    one_check_each(
        SERVICES,
        "{item}'s /ready names and reaches every dependency it declares, each store edge "
        "through Toxiproxy",
        category="connectivity",
        severity="HIGH",
        finding="Inter-service connectivity, {item}'s row: dependencies reachable (HIGH: a "
        "dependency /ready does not watch fails users while the service reports ready)",
        fix="Register every dependency {item} declares in compose as a /ready dependency; point "
        "{item} at the data stores' Toxiproxy listen addresses on test stacks.",
        impact="{item} is sent traffic while a dependency it needs is gone, and faults injected "
        "in drills miss its edges: its degraded mode stays untested.",
    ),
)
def test_service_reaches_what_it_declares(
    service: str,
    shipped: components.Shipped,
    stack: Platform,
    faults: FaultInjector,
    proxied: AddressOf,
    evidence: EvidenceLog,
) -> None:
    declared = components.declared_dependencies(shipped, service)
    evidence.note(f"{service} depends_on (docker-compose.yml)", ", ".join(declared) or "none")
    assert declared, f"docker-compose.yml declares no dependency of {service}"
    names = components.instances(stack, service)
    if not names:
        pytest.skip(f"the stack has no {service}")
    url = stack.endpoint(names[0]).url or ""
    ready = components.ready_dependencies(url)
    evidence.note(f"{service} /ready", str(ready))
    defects = components.readiness_defects(declared, ready)
    for store in components.stores_of(declared, stack):
        if components.ready_entries(ready, store):
            defect = components.edge_defect(faults, url, store, proxied, evidence)
            defects += [defect] if defect else []
    assert not defects, "; ".join(defects)
