"""Every alert reaches on-call by e-mail and by the incident webhook, through the routing
tree that ships (compose/alertmanager/alertmanager.yml).

CFG-010 checks that some receiver mails a real address; a route that sends critical
alerts to a webhook-only receiver still passes it, and the pager stays silent by
mail for exactly the alerts that matter. Here Alertmanager's own router decides
(`amtool config routes test`, which walks matchers, `continue` and defaults as the
server does) where each alert of the rules goes, with the labels it will carry:
its rule's static labels and the `service` of every scraped target.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from harness.checks.evidence import EvidenceLog
from harness.checks.library.alert_selectors import AlertRule
from harness.errors import Inconclusive

AMTOOL_TIMEOUT_S = 30.0
#: Every alert needs both: the mailbox is read by people, the webhook opens incidents.
CHANNELS = {"email_configs": "e-mail", "webhook_configs": "webhook"}


def scraped_services(prometheus_config: Path) -> list[str]:
    """The `service` labels the production scrape gives its targets."""
    config = yaml.safe_load(prometheus_config.read_text()) or {}
    services = [
        str(group["labels"]["service"])
        for job in config.get("scrape_configs", [])
        for group in job.get("static_configs", [])
        if "service" in (group.get("labels") or {})
    ]
    return list(dict.fromkeys(services))


def routed_receivers(amtool: str, config: Path, labels: dict[str, str]) -> list[str]:
    """The receivers Alertmanager's router picks for an alert with `labels`."""
    result = subprocess.run(
        [amtool, "config", "routes", "test", f"--config.file={config}"]
        + [f"{name}={value}" for name, value in sorted(labels.items())],
        capture_output=True,
        text=True,
        timeout=AMTOOL_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"amtool cannot route with {config.name}: {result.stderr.strip()}")
    return [name for name in result.stdout.strip().split(",") if name]


def _static_labels(rule: AlertRule) -> dict[str, str]:
    """Labels known before evaluation (templated ones depend on the series)."""
    return {k: str(v) for k, v in rule.labels.items() if "{{" not in str(v)}


def _missing_channels(receivers: list[str], configured: dict[str, Any]) -> list[str]:
    return [
        channel
        for key, channel in CHANNELS.items()
        if not any((configured.get(name) or {}).get(key) for name in receivers)
    ]


def routing_defects(
    config: Path, rules: list[AlertRule], services: list[str], evidence: EvidenceLog
) -> list[str]:
    """One defect per alert that some service's instance of would not mail or hook."""
    amtool = shutil.which("amtool")
    if amtool is None:
        raise Inconclusive("amtool (Alertmanager's CLI) is not installed: routing not judged")
    document = yaml.safe_load(config.read_text()) or {}
    configured = {r["name"]: r for r in document.get("receivers", [])}
    defects = []
    for rule in rules:
        missed: dict[str, list[str]] = {}
        for service in services:
            labels = {"alertname": rule.name, **_static_labels(rule), "service": service}
            receivers = routed_receivers(amtool, config, labels)
            for channel in _missing_channels(receivers, configured):
                missed.setdefault(f"{channel} (routed to {', '.join(receivers)})", []).append(
                    service
                )
        evidence.note(f"{rule.name} routing", "; ".join(missed) or "e-mail and webhook")
        for gap, where in missed.items():
            defects.append(f"{rule.name} reaches no {gap} for service {', '.join(where)}")
    return defects
