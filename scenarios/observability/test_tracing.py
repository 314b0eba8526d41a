"""What an operator reads in an incident: dashboards that show data, requests followed
across services by their id, and logs that cannot fill the disk.

OBS-014 evaluates every panel of compose/grafana/dashboards/ on the stack's Prometheus
after a little traffic. OBS-015 sends a request through the gateway with an
X-Request-ID and one without, and finds each id in the response, the gateway's log
line and the backend's. OBS-016 reads the logging settings of what Docker will run:
the services log to stdout only (common/logging.py) and keep no log file of their
own, so the container runtime's driver is what bounds them; the local backend's log
files are the harness's own capture of that stdout, not the product's, so there is
no file of the product's to watch grow there.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from harness import (
    ApiClient,
    EvidenceLog,
    Platform,
    check,
    eventually,
    require_components,
)
from harness.checks import compose_rendered, dashboards, observability

#: A route the gateway proxies to auth, answered (401) without a session.
TRACED_PATH = "/api/v1/auth/me"
TRACED_COMPONENTS = ("gateway", "auth")
#: Log lines are written as the request ends; a few seconds cover a loaded machine.
LOG_DEADLINE_S = 10.0


@check(
    "OBS-014",
    "Every Grafana dashboard panel's query shows data from the live Prometheus",
    category="observability",
    severity="MEDIUM",
    finding="Monitoring: Grafana dashboards provisioned for every service",
    fix="Query the metric names and labels the services export (see /metrics); a panel "
    "on a metric nobody exports is blank forever.",
    impact="A blank panel during an incident reads as all quiet: the on-call engineer looks "
    "away from the failing service.",
)
def test_dashboard_panels_show_data(
    stack: Platform, api: ApiClient, compose_dir: Path, evidence: EvidenceLog
) -> None:
    api.me(api.new_session().access_token)  # a little traffic for the rate panels
    prometheus = stack.endpoint("prometheus").url or ""
    panels = compose_dir / "grafana" / "dashboards"
    defects = dashboards.dashboard_defects(panels, prometheus, evidence)
    assert not defects, "; ".join(defects)


def _untraced(stack: Platform, request_id: str) -> list[str]:
    """The traced components whose log still lacks `request_id` at the deadline."""

    def missing() -> list[str]:
        return observability.untraced(request_id, {c: stack.logs(c) for c in TRACED_COMPONENTS})

    try:
        eventually(lambda: not missing(), LOG_DEADLINE_S, 0.5)
    except TimeoutError:
        return missing()
    return []


@check(
    "OBS-015",
    "A request's id is in its response, the gateway's log line and the backend's, "
    "whether the client sent one or not",
    category="observability",
    severity="MEDIUM",
    finding="Logs: request ids across services (distributed tracing by correlation id)",
    fix="Keep the client's X-Request-ID (or make one) at the gateway, forward it upstream "
    "and log it in every service.",
    impact="A failed request cannot be followed from the gateway to the service that failed "
    "it: every incident starts with guessing.",
)
def test_request_id_end_to_end(stack: Platform, gateway_url: str, evidence: EvidenceLog) -> None:
    require_components(stack.names(), *TRACED_COMPONENTS)
    given = f"readiness-{uuid.uuid4().hex}"
    with_id = httpx.get(f"{gateway_url}{TRACED_PATH}", headers={"X-Request-ID": given}, timeout=5)
    without_id = httpx.get(f"{gateway_url}{TRACED_PATH}", timeout=5)
    evidence.http("with X-Request-ID", with_id)
    evidence.http("without X-Request-ID", without_id)
    defects = []
    if with_id.headers.get("x-request-id") != given:
        defects.append(f"the response carries {with_id.headers.get('x-request-id')!r}, not {given}")
    made = without_id.headers.get("x-request-id")
    if not made:
        defects.append("a request without X-Request-ID got no id in its response")
    for request_id in filter(None, (given, made)):
        missing = _untraced(stack, request_id)
        if missing:
            defects.append(f"{request_id} is in no log line of {', '.join(missing)}")
        evidence.note(f"{request_id} not logged by", ", ".join(missing) or "none")
    assert not defects, "; ".join(defects)


@check(
    "OBS-016",
    "Every container's log is rotated at a bounded size in what Docker will run",
    category="observability",
    severity="MEDIUM",
    finding="Logs: rotation and retention (json-file max-size / max-file)",
    fix="Give every service the logging anchor: driver json-file with max-size and max-file.",
    impact="An unrotated container log grows until the disk is full, and then the database "
    "and every service on the host stop writing.",
)
def test_logs_rotated(compose_dir: Path, evidence: EvidenceLog) -> None:
    defects = []
    for rendered in compose_rendered.render_deployment(compose_dir):
        if rendered.error:
            defects.append(f"{rendered.name}: compose refuses it: {rendered.error}")
        for name, service in rendered.services.items():
            evidence.note(f"{rendered.name} {name} logging", str(service.get("logging")))
            defects += compose_rendered.rotation_defects(f"{rendered.name} {name}", service)
    assert not defects, "; ".join(defects)
