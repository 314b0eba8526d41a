"""Every service exposes its probes and its domain metrics and logs one JSON object per line."""

from __future__ import annotations

import pytest

from harness import (
    ApiClient,
    EvidenceLog,
    Platform,
    check,
    one_check_each,
    require_components,
    services_of,
)
from harness.checks import observability

#: A check per service that its /metrics carries its domain metrics (the seed's table).
METRICS_CHECKS = {
    "OBS-008": "gateway",
    "OBS-009": "auth",
    "OBS-010": "chat",
    "OBS-011": "video",
    "OBS-012": "storage",
    "OBS-013": "backup",
}


@check(
    "OBS-005",
    "Every service serves /health, and /ready naming its dependencies",
    category="observability",
    severity="HIGH",
    finding="Health endpoints: /health and /ready on every service",
    fix="Wire the shared probes in every service; /ready names each dependency it checks.",
    impact="Orchestrators cannot tell a service's health or its dependencies: failures go "
    "unseen and traffic reaches instances that cannot serve it.",
)
def test_probes(stack: Platform, evidence: EvidenceLog) -> None:
    defects = []
    for name in services_of(stack):
        url = stack.endpoint(name).url
        assert url is not None
        defects += observability.probe_defects(name, url, evidence)
    assert services_of(stack), "no SecureConnect service is running"
    assert not defects, "; ".join(defects)


@pytest.mark.parametrize(
    "service",
    one_check_each(
        METRICS_CHECKS,
        "{item} serves /metrics with its domain metrics, labelled with its name",
        category="observability",
        severity="HIGH",
        finding="Metrics table: {item}'s domain metrics (HIGH-4: degraded metrics not exposed)",
        fix="Register {item}'s metrics at start-up (HTTP, and its DB, Redis, WebSocket, calls "
        "or S3 clients) with service={item} as their label.",
        impact="Prometheus cannot see {item}'s traffic or its dependencies: dashboards and "
        "alerts about {item} stay blank through its outages.",
    ),
)
def test_domain_metrics(
    service: str, stack: Platform, api: ApiClient, evidence: EvidenceLog
) -> None:
    require_components(stack.names(), service)
    instances = [n for n in services_of(stack) if n.split("-")[0] == service]
    api.me(api.new_session().access_token)  # a little traffic through the gateway
    defects = []
    for name in instances:
        url = stack.endpoint(name).url
        assert url is not None
        defects += observability.metrics_defects(name, url, service, evidence)
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
