"""CFG-014's logic: Alertmanager's own router (amtool) on the shipped routing tree and on a
copy whose critical alerts go to a webhook-only receiver; and the local stack's
Alertmanager runs that same tree, pointed at the capture server."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from harness.checks.evidence import EvidenceLog
from harness.checks.library import alert_routing, alert_selectors
from harness.errors import Inconclusive
from harness.platform.components.monitoring import local_alertmanager_config

REPO = Path(__file__).resolve().parents[3]
CONFIG = REPO / "compose" / "alertmanager" / "alertmanager.yml"
RULES = alert_selectors.alert_rules(REPO / "compose" / "prometheus" / "rules")
SERVICES = alert_routing.scraped_services(REPO / "compose" / "prometheus" / "prometheus.yml")
needs_amtool = pytest.mark.skipif(shutil.which("amtool") is None, reason="no amtool")


def _critical_to_pager(tmp_path: Path) -> Path:
    config = yaml.safe_load(CONFIG.read_text())
    config["route"]["routes"] = [{"matchers": ['severity="critical"'], "receiver": "pager"}]
    hook = config["receivers"][0]["webhook_configs"]
    config["receivers"].append({"name": "pager", "webhook_configs": hook})
    copy = tmp_path / "alertmanager.yml"
    copy.write_text(yaml.safe_dump(config))
    return copy


def test_services_come_from_the_production_scrape() -> None:
    assert SERVICES == ["gateway", "auth", "chat", "video", "storage", "backup"]


@needs_amtool
def test_the_shipped_tree_mails_and_hooks_every_alert() -> None:
    evidence = EvidenceLog()
    assert alert_routing.routing_defects(CONFIG, RULES, SERVICES, evidence) == []
    assert len(evidence.items) == len(RULES)


@needs_amtool
def test_critical_alerts_routed_past_the_mailbox_fail_naming_them(tmp_path: Path) -> None:
    defects = alert_routing.routing_defects(
        _critical_to_pager(tmp_path), RULES, ["auth"], EvidenceLog()
    )
    critical = sorted(r.name for r in RULES if r.labels.get("severity") == "critical")
    assert sorted(d.split()[0] for d in defects) == critical
    assert all("reaches no e-mail (routed to pager) for service auth" in d for d in defects)


def test_without_amtool_the_routing_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alert_routing.shutil, "which", lambda _name: None)
    with pytest.raises(Inconclusive, match="not judged"):
        alert_routing.routing_defects(CONFIG, RULES, SERVICES, EvidenceLog())


def test_the_local_alertmanager_runs_the_shipped_tree(tmp_path: Path) -> None:
    local = local_alertmanager_config(
        _critical_to_pager(tmp_path), "http://capture/webhooks/alertmanager", "127.0.0.1:2525"
    )
    assert local["route"]["routes"][0]["receiver"] == "pager"
    assert local["route"]["group_wait"] == "1s"
    assert local["global"]["smtp_smarthost"] == "127.0.0.1:2525"
    hooks = [h for r in local["receivers"] for h in r.get("webhook_configs", [])]
    assert {h["url"] for h in hooks} == {"http://capture/webhooks/alertmanager"}
    assert not any("http_config" in h for h in hooks)
    assert [r["name"] for r in local["receivers"] if r.get("email_configs")] == ["oncall"]
