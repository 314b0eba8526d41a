"""Every service exposes its probes and metrics and logs one JSON object per line."""

from __future__ import annotations

from harness import EvidenceLog, Platform, check, services_of
from harness.checks import observability


@check(
    "OBS-005",
    "Every service serves /health, /ready naming its dependencies, and /metrics",
    category="observability",
    severity="HIGH",
    finding="HIGH-4: Redis degraded-mode metrics not exposed",
    fix="Wire the shared probes and register redis_degraded_mode at start-up in every service.",
    impact="Orchestrators and Prometheus cannot tell a service's health or its dependencies: "
    "failures go unseen.",
)
def test_probes_and_metrics(stack: Platform, evidence: EvidenceLog) -> None:
    defects = []
    for name in services_of(stack):
        url = stack.endpoint(name).url
        assert url is not None
        defects += observability.probes_and_metrics(name, url, evidence)
    assert services_of(stack), "no SecureConnect service is running"
    assert not defects, "; ".join(defects)


@check(
    "OBS-006",
    "Service logs are one JSON object per line with request ids",
    category="observability",
    severity="MEDIUM",
    finding="Logs: structured JSON for Loki/Promtail",
    fix="Log through the shared JSON formatter with the request-id filter.",
    impact="Logs cannot be searched or correlated by request: incidents take far longer to "
    "diagnose.",
)
def test_logs_are_json(stack: Platform, evidence: EvidenceLog) -> None:
    defects = []
    for name in services_of(stack):
        text = stack.logs(name)
        defects += observability.log_defects(name, text)
        evidence.log(f"{name} log tail", text, lines=3)
    assert not defects, "; ".join(defects)
