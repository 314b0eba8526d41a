"""Prometheus and Alertmanager with configs generated for this run.

The alert rules come from compose/prometheus/ and Alertmanager's routing tree
from compose/alertmanager/ (or another tree's: settings of the components), so
what runs locally is what production deploys; only the receivers' endpoints
(the capture server) and the timers differ. The local stack scrapes, evaluates
and groups fast so an alert can fire within a check's deadline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from harness.platform import probes
from harness.platform.binaries import find
from harness.platform.components.base import LocalComponent
from harness.platform.runtime import RunContext
from harness.platform.source import REPO_ROOT, alert_rules_dir, alertmanager_config

ALERT_RULES_DIR = alert_rules_dir(REPO_ROOT)
ALERTMANAGER_CONFIG = alertmanager_config(REPO_ROOT)
SCRAPE_INTERVAL = "1s"
#: How often the rules are evaluated. Not every second: their windows keep production's
#: length (rate over 5 minutes), which at one sample a second is 300 per series, and
#: evaluated every second they took 13-19 % of a core from the fifth minute of a run on
#: (measured on two cores), CPU that the load checks' SLOs then had to share; every 5 s,
#: ~5 %. An alert now needs two evaluations `for:` apart, 5-10 s after its condition holds.
RULE_INTERVAL = "5s"
ALERT_GROUP_WAIT = "1s"
#: Every rule's `for:` in the local stack, so an alert fires within a check's deadline.
TEST_ALERT_FOR = "2s"
#: Alertmanager's timers in the local stack, for the same reason.
TEST_ROUTE_TIMERS = {
    "group_wait": ALERT_GROUP_WAIT,
    "group_interval": "2s",
    "repeat_interval": "1h",
}
#: What a production receiver needs to reach the real relay and incident service.
RELAY_SETTINGS = (
    "smarthost",
    "from",
    "hello",
    "auth_username",
    "auth_password",
    "auth_password_file",
    "auth_identity",
    "auth_secret",
    "require_tls",
    "tls_config",
)


def shorten_rules(source: Path, target: Path) -> None:
    """Copy a rules file with every `for:` set to TEST_ALERT_FOR, evaluated every RULE_INTERVAL."""
    document = yaml.safe_load(source.read_text())
    for group in document.get("groups", []):
        group["interval"] = RULE_INTERVAL
        for rule in group.get("rules", []):
            if "for" in rule:
                rule["for"] = TEST_ALERT_FOR
    target.write_text(yaml.safe_dump(document, sort_keys=False))


def _shorten_timers(route: dict[str, Any], root: bool = True) -> None:
    """Every timer of the root route; a child's only where it overrides its parent's."""
    for timer, value in TEST_ROUTE_TIMERS.items():
        if root or timer in route:
            route[timer] = value
    for child in route.get("routes") or []:
        _shorten_timers(child, root=False)


def local_alertmanager_config(source: Path, webhook_url: str, smtp_address: str) -> dict[str, Any]:
    """The shipped routing tree (routes, matchers, grouping, inhibitions, which receiver
    mails and which calls the webhook), every receiver pointed at the capture server,
    the timers shortened: what the live checks see is how production routes."""
    config = yaml.safe_load(source.read_text())
    config["global"] = {
        "smtp_smarthost": smtp_address,
        "smtp_from": "alertmanager@secureconnect.local",
        "smtp_require_tls": False,
    }
    for receiver in config.get("receivers", []):
        for email in receiver.get("email_configs") or []:
            for setting in RELAY_SETTINGS:
                email.pop(setting, None)
        for hook in receiver.get("webhook_configs") or []:
            hook.pop("http_config", None)
            hook["url"] = webhook_url
    _shorten_timers(config["route"])
    return config


def relay_alertmanager_config(source: Path, webhook_url: str, smarthost: str) -> dict[str, Any]:
    """The shipped config as it is, relay settings included (STARTTLS, login, the webhook's
    bearer token), with the relay and the webhook at the capture server (which demands
    them) and the timers shortened: the container stack's Alertmanager."""
    config = yaml.safe_load(source.read_text())
    config["global"]["smtp_smarthost"] = smarthost
    for receiver in config.get("receivers", []):
        for hook in receiver.get("webhook_configs") or []:
            hook["url"] = webhook_url
    _shorten_timers(config["route"])
    return config


class Alertmanager(LocalComponent):
    name = "alertmanager"
    depends_on = ("capture",)

    def __init__(
        self, capture_url: str, capture_smtp: str, config_file: Path = ALERTMANAGER_CONFIG
    ) -> None:
        super().__init__()
        self.capture_url = capture_url
        self.capture_smtp = capture_smtp
        #: The shipped routing tree this instance runs (another tree's for the self-test).
        self.config_file = config_file

    def prepare(self, run: RunContext) -> None:
        self.config = run.config_path("alertmanager.yml")
        config = local_alertmanager_config(
            self.config_file, f"{self.capture_url}/webhooks/alertmanager", self.capture_smtp
        )
        self.config.write_text(yaml.safe_dump(config, sort_keys=False))

    def argv(self, run: RunContext) -> list[str]:
        return [
            find("prometheus-alertmanager", self.name),
            f"--config.file={self.config}",
            f"--storage.path={run.data_dir(self.name)}",
            f"--web.listen-address={self.address}",
            "--cluster.listen-address=",
        ]

    def url(self) -> str:
        return f"http://{self.address}"

    def probe(self, run: RunContext) -> None:
        probes.http_ok(f"{self.url()}/-/ready")


class Prometheus(LocalComponent):
    name = "prometheus"
    depends_on = ("alertmanager",)

    def __init__(
        self,
        alertmanager_address: str,
        targets: dict[str, list[str]],
        rules_dir: Path = ALERT_RULES_DIR,
    ) -> None:
        super().__init__()
        self.alertmanager_address = alertmanager_address
        self.targets = targets
        #: The alert rules to load (every *.yml), their `for:` shortened for the local stack.
        self.rules_dir = rules_dir

    def prepare(self, run: RunContext) -> None:
        self.config = run.config_path("prometheus.yml")
        self.targets_file = run.config_path("prometheus-targets.yml")
        self.write_targets(self.targets)
        rules = []
        for source in sorted(self.rules_dir.glob("*.yml")):
            target = run.config_path(f"rules-{source.name}")
            shorten_rules(source, target)
            rules.append(str(target))
        config = {
            "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": RULE_INTERVAL},
            "alerting": {
                "alertmanagers": [{"static_configs": [{"targets": [self.alertmanager_address]}]}]
            },
            "rule_files": rules,
            "scrape_configs": [
                {"job_name": "prometheus", "static_configs": [{"targets": [self.address]}]},
                {
                    "job_name": "secureconnect",
                    "file_sd_configs": [
                        {"files": [str(self.targets_file)], "refresh_interval": "1s"}
                    ],
                },
            ],
        }
        self.config.write_text(yaml.safe_dump(config, sort_keys=False))

    def write_targets(self, targets: dict[str, list[str]]) -> None:
        """Point the scrape at the services; Prometheus re-reads the file by itself."""
        groups = [
            {"targets": addresses, "labels": {"service": service}}
            for service, addresses in targets.items()
        ]
        self.targets_file.write_text(yaml.safe_dump(groups))

    def argv(self, run: RunContext) -> list[str]:
        return [
            find("prometheus", self.name),
            f"--config.file={self.config}",
            f"--storage.tsdb.path={run.data_dir(self.name)}",
            f"--web.listen-address={self.address}",
            "--web.enable-lifecycle",
        ]

    def url(self) -> str:
        return f"http://{self.address}"

    def probe(self, run: RunContext) -> None:
        probes.http_ok(f"{self.url()}/-/ready")
