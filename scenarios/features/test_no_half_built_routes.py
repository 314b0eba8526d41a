"""No route is half-built: every documented operation answers a bad request with a 4xx."""

from __future__ import annotations

from harness import EvidenceLog, Platform, check, services_of
from harness.checks import features


@check(
    "FEAT-001",
    "Every documented route answers an anonymous empty request without a 5xx",
    category="features",
    severity="MEDIUM",
    finding="MEDIUM-14: half-built features (settings exist, no endpoints)",
    fix="Finish or remove the route; validate input and authenticate before any work.",
    impact="Documented routes crash with 500s on ordinary input: clients break and error budgets "
    "burn.",
)
def test_no_route_is_half_built(stack: Platform, evidence: EvidenceLog) -> None:
    defects = []
    for name in services_of(stack):
        if name == "gateway":
            continue  # the gateway routes to the others; probed through them
        defects += features.route_defects(name, stack.endpoint(name).url or "", evidence)
    assert not defects, "; ".join(defects)
