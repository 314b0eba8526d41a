"""Alert rules are tested, watch series that exist, and really reach the on-call receivers.

OBS-003 and OBS-004 are experiments: steady state (the alert is not active), a fault
and its traffic from the recipe table (alert_recipes.py), the alert delivered to the
webhook and by e-mail, started after the fault did.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness import ApiClient, EvidenceLog, FaultInjector, Inconclusive, Platform, check
from harness.checks import alert_firing, alert_selectors, alerts
from scenarios.observability.alert_recipes import RECIPES, AlertContext

#: Above the worst case: every incident waits out the rules' window once, then fires.
OBS_004_TIMEOUT_S = 2 * alert_firing.FIRE_DEADLINE_S + 2 * alert_firing.QUIET_DEADLINE_S
#: alert → the metric its expression must use (the seed found one on the wrong metric).
REQUIRED_ALERTS = {
    "RedisDegradedMode": "redis_degraded_mode",
    "HighRequestTimeoutRate": "request_timeout_total",
    "MinIOCircuitBreakerOpen": "minio_circuit_breaker_open",
    "ServiceDown": "up",
}


@pytest.fixture(scope="session")
def rules(compose_dir: Path) -> Path:
    """The alert rules under audit: those the stack's Prometheus loaded (compose_dir's)."""
    return compose_dir / "prometheus" / "rules"


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
def test_alert_rules_are_tested(rules: Path, evidence: EvidenceLog) -> None:
    alerts.rules_are_valid_and_tested(rules, rules.parent / "tests", evidence)


@check(
    "OBS-002",
    "Alerts exist for Redis degraded mode, request timeouts and the S3 breaker",
    category="observability",
    severity="HIGH",
    finding="HIGH-6 no timeout alert; MEDIUM-7 no MinIO breaker alert; MEDIUM-8 wrong Redis metric",
    fix="Alert on redis_degraded_mode, request_timeout_total and minio_circuit_breaker_open.",
    impact="Redis degradation, request timeouts and an open S3 breaker happen without any alert.",
)
def test_required_alerts_watch_the_right_metrics(rules: Path, evidence: EvidenceLog) -> None:
    expressions = {}
    for path in sorted(rules.glob("*.yml")):
        for group in yaml.safe_load(path.read_text()).get("groups", []):
            expressions |= {r["alert"]: r["expr"] for r in group["rules"] if "alert" in r}
    defects = []
    for alert, metric in REQUIRED_ALERTS.items():
        expression = expressions.get(alert)
        evidence.note(alert, expression or "missing")
        if expression is None or metric not in expression:
            defects.append(f"{alert} {'is missing' if expression is None else 'ignores ' + metric}")
    assert not defects, "; ".join(defects)


@pytest.fixture
def alert_context(stack: Platform, gateway_url: str, api: ApiClient) -> AlertContext:
    return AlertContext(stack, gateway_url, api)


def _fire(
    recipe: alert_firing.Recipe[AlertContext],
    context: AlertContext,
    faults: FaultInjector,
    capture_url: str,
    evidence: EvidenceLog,
) -> None:
    prometheus_url = context.stack.endpoint("prometheus").url or ""
    alert_firing.fire(
        recipe, context, faults, evidence, prometheus_url=prometheus_url, capture_url=capture_url
    )


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
    stack: Platform,
    faults: FaultInjector,
    alert_context: AlertContext,
    capture_url: str,
    evidence: EvidenceLog,
) -> None:
    recipe = alert_firing.recipe_for("RedisDegradedMode", RECIPES)
    assert recipe is not None, "no recipe fires RedisDegradedMode"
    _fire(recipe, alert_context, faults, capture_url, evidence)


@check(
    "OBS-004",
    "Every alert rule fires end to end: fault, Prometheus, Alertmanager, webhook and e-mail",
    category="observability",
    severity="HIGH",
    finding="HIGH-6 no timeout alert; MEDIUM-7 breaker alert; alerts that were never seen firing",
    profile="full",
    fix="Give every rule in compose/prometheus/rules/ a recipe in alert_recipes.py "
    "that makes it fire; fix the rule, the metric or the routing until it does.",
    impact="An alert that cannot fire is silence during an incident: timeouts, a stale "
    "backup or an open breaker climb until users complain.",
)
# Typically 1-2 minutes; after a load test, rate and quantile alerts left firing by it
# must leave their 5-minute windows before an incident can start them afresh.
@pytest.mark.timeout(OBS_004_TIMEOUT_S)
def test_every_alert_fires_end_to_end(
    stack: Platform,
    rules: Path,
    faults: FaultInjector,
    alert_context: AlertContext,
    capture_url: str,
    evidence: EvidenceLog,
) -> None:
    names = {rule.name for rule in alert_selectors.alert_rules(rules)}
    missing = alert_firing.missing_recipes(names, RECIPES)
    evidence.note("alerts without a recipe", ", ".join(missing) or "none")
    assert not missing, f"alerts without a recipe that makes them fire: {missing}"
    failed, unknown = alert_firing.fire_all(
        RECIPES,
        alert_context,
        faults,
        evidence,
        prometheus_url=stack.endpoint("prometheus").url or "",
        capture_url=capture_url,
    )
    assert not failed, "; ".join(failed)
    if unknown:
        raise Inconclusive("; ".join(unknown))


@check(
    "OBS-007",
    "Every alert rule's selectors match series the live scrape produces",
    category="observability",
    severity="HIGH",
    finding="MEDIUM-8: Redis degraded alert on a metric that does not track degraded mode",
    fix="Use the metric names and label values the services export (see /metrics and "
    "the evidence's label values); a rule that selects nothing can never fire.",
    impact="An alert on a series nobody exports stays silent through the very outage it "
    "was written for.",
)
def test_alert_selectors_match_live_series(
    stack: Platform,
    rules: Path,
    faults: FaultInjector,
    alert_context: AlertContext,
    evidence: EvidenceLog,
) -> None:
    def warm_up(alert: str) -> None:
        recipe = alert_firing.recipe_for(alert, RECIPES)
        if recipe is not None:
            alert_firing.warm_up(recipe, alert_context, faults)
            faults.restore()

    prometheus = stack.endpoint("prometheus").url or ""
    defects = alert_selectors.selector_defects(rules, prometheus, evidence, warm_up)
    assert not defects, "; ".join(defects)
