"""Prometheus and Alertmanager with configs generated for this run.

The alert rules come from compose/prometheus/rules/ (or another tree's, a
setting of the component), so what runs locally is what production deploys.
The `test` profile evaluates and scrapes fast so an alert can fire within a
check's deadline.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from harness.platform import probes
from harness.platform.binaries import find
from harness.platform.components.base import LocalComponent
from harness.platform.runtime import RunContext
from harness.platform.source import REPO_ROOT, alert_rules_dir

ALERT_RULES_DIR = alert_rules_dir(REPO_ROOT)
SCRAPE_INTERVAL = "1s"
ALERT_GROUP_WAIT = "1s"
#: Every rule's `for:` in the local stack, so an alert fires within a check's deadline.
TEST_ALERT_FOR = "2s"


def shorten_rules(source: Path, target: Path) -> None:
    """Copy a rules file with every `for:` set to TEST_ALERT_FOR."""
    document = yaml.safe_load(source.read_text())
    for group in document.get("groups", []):
        group["interval"] = SCRAPE_INTERVAL
        for rule in group.get("rules", []):
            if "for" in rule:
                rule["for"] = TEST_ALERT_FOR
    target.write_text(yaml.safe_dump(document, sort_keys=False))


class Alertmanager(LocalComponent):
    name = "alertmanager"
    depends_on = ("capture",)

    def __init__(self, capture_url: str, capture_smtp: str) -> None:
        super().__init__()
        self.capture_url = capture_url
        self.capture_smtp = capture_smtp

    def prepare(self, run: RunContext) -> None:
        self.config = run.config_path("alertmanager.yml")
        receiver = {
            "name": "readiness",
            "webhook_configs": [
                {"url": f"{self.capture_url}/webhooks/alertmanager", "send_resolved": True}
            ],
            "email_configs": [
                {
                    "to": "oncall@secureconnect.local",
                    "from": "alertmanager@secureconnect.local",
                    "smarthost": self.capture_smtp,
                    "require_tls": False,
                    "send_resolved": True,
                }
            ],
        }
        config = {
            "route": {
                "receiver": "readiness",
                "group_by": ["alertname"],
                "group_wait": ALERT_GROUP_WAIT,
                "group_interval": "2s",
                "repeat_interval": "1h",
            },
            "receivers": [receiver],
        }
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
            "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
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
