"""Alert rules are tested, track the right metrics, and really reach the on-call receivers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import yaml

from harness import EvidenceLog, FaultInjector, Platform, check
from harness.checks.library import alerts

RULES = Path(__file__).resolve().parents[2] / "compose" / "prometheus" / "rules"
TESTS = RULES.parent / "tests"
#: alert → the metric its expression must use (the seed found one on the wrong metric).
REQUIRED_ALERTS = {
    "RedisDegradedMode": "redis_degraded_mode",
    "HighRequestTimeoutRate": "request_timeout_total",
    "MinIOCircuitBreakerOpen": "minio_circuit_breaker_open",
    "ServiceDown": "up",
}
ALERT_DEADLINE_S = 45.0
TIMEOUT_BURST = 40


@check(
    "OBS-001",
    "Every alert rule is valid and has a promtool test that makes it fire",
    category="observability",
    severity="MEDIUM",
    finding="Alerts: rules that were never exercised (RedisDegradedMode on the wrong metric)",
    fix="Add a promtool unit test per rule under compose/prometheus/tests/.",
    impact="An alert rule that cannot fire gives false confidence: the outage it watches for "
    "pages nobody.",
)
def test_alert_rules_are_tested(evidence: EvidenceLog) -> None:
    alerts.rules_are_valid_and_tested(RULES, TESTS, evidence)


@check(
    "OBS-002",
    "Alerts exist for Redis degraded mode, request timeouts and the S3 breaker",
    category="observability",
    severity="HIGH",
    finding="HIGH-6 no timeout alert; MEDIUM-7 no MinIO breaker alert; MEDIUM-8 wrong Redis metric",
    fix="Alert on redis_degraded_mode, request_timeout_total and minio_circuit_breaker_open.",
    impact="Redis degradation, request timeouts and an open S3 breaker happen without any alert.",
)
def test_required_alerts_watch_the_right_metrics(evidence: EvidenceLog) -> None:
    expressions = {}
    for path in sorted(RULES.glob("*.yml")):
        for group in yaml.safe_load(path.read_text()).get("groups", []):
            expressions |= {r["alert"]: r["expr"] for r in group["rules"] if "alert" in r}
    defects = []
    for alert, metric in REQUIRED_ALERTS.items():
        expression = expressions.get(alert)
        evidence.note(alert, expression or "missing")
        if expression is None or metric not in expression:
            defects.append(f"{alert} {'is missing' if expression is None else 'ignores ' + metric}")
    assert not defects, "; ".join(defects)


@check(
    "OBS-003",
    "A Redis outage fires RedisDegradedMode to the webhook and by e-mail",
    category="observability",
    severity="HIGH",
    finding="HIGH-5 Alertmanager e-mail not configured; MEDIUM-8 Redis degraded alert",
    fix="Route alerts to a real SMTP smarthost and a webhook; alert on redis_degraded_mode.",
    impact="A Redis outage pages nobody: the team learns of it from users.",
)
def test_redis_outage_alert_reaches_oncall(
    stack: Platform, faults: FaultInjector, capture_url: str, evidence: EvidenceLog
) -> None:
    with faults.cut("redis"):
        alerts.wait_for_alert(capture_url, "RedisDegradedMode", ALERT_DEADLINE_S, evidence)
    mails = alerts.mail_about(capture_url, "RedisDegradedMode")
    evidence.number("alert e-mails received", len(mails))
    assert mails, "RedisDegradedMode fired but no alert e-mail reached the SMTP server"


async def _hung_requests(gateway_url: str, count: int) -> list[int]:
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30) as client:
        calls = [
            client.get("/api/v1/auth/me", headers={"Authorization": "Bearer x"})
            for _ in range(count)
        ]
        return [r.status_code for r in await asyncio.gather(*calls)]


@check(
    "OBS-004",
    "Requests timing out fire HighRequestTimeoutRate",
    category="observability",
    severity="HIGH",
    finding="HIGH-6: no alert for request timeouts",
    profile="full",
    fix="Alert on rate(request_timeout_total[5m]).",
    impact="Timeouts climb without an alert until users complain.",
)
def test_timeouts_fire_an_alert(
    stack: Platform,
    faults: FaultInjector,
    gateway_url: str,
    capture_url: str,
    evidence: EvidenceLog,
) -> None:
    with faults.paused_process("auth"):
        statuses = asyncio.run(_hung_requests(gateway_url, TIMEOUT_BURST))
        evidence.note("statuses while auth hung", str(sorted(set(statuses))))
        assert statuses.count(504) == TIMEOUT_BURST, "the gateway did not time out every request"
        alerts.wait_for_alert(capture_url, "HighRequestTimeoutRate", ALERT_DEADLINE_S, evidence)
