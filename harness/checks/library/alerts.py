"""Alert rules that are tested, and alerts that really reach Alertmanager's receivers."""

from __future__ import annotations

import shutil
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from harness.checks.evidence import EvidenceLog
from harness.errors import CheckError

PROMTOOL_TIMEOUT_S = 60.0
POLL_S = 0.5
#: An alert's startsAt may precede its fault by up to one scrape and one rule evaluation
#: interval (1 s each in the harness's stacks): a scrape that began just before a process
#: was paused fails after it and is stamped with its start; evaluations are stamped with
#: their slot, not their wall time.
STARTS_AT_SLACK_S = 2.0


def alert_names(rule_files: list[Path]) -> set[str]:
    names = set()
    for path in rule_files:
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups", []):
            names |= {rule["alert"] for rule in group.get("rules", []) if "alert" in rule}
    return names


def alerts_tested_firing(test_files: list[Path]) -> set[str]:
    """Alerts that some promtool test expects to fire (an empty exp_alerts proves nothing)."""
    names = set()
    for path in test_files:
        for case in (yaml.safe_load(path.read_text()) or {}).get("tests", []):
            for expectation in case.get("alert_rule_test", []):
                if expectation.get("exp_alerts"):
                    names.add(expectation["alertname"])
    return names


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    if promtool is None:
        raise CheckError("promtool not found; run scripts/bootstrap")
    return subprocess.run(
        [promtool, *args], capture_output=True, text=True, timeout=PROMTOOL_TIMEOUT_S, check=False
    )


def rules_are_valid_and_tested(rules_dir: Path, tests_dir: Path, evidence: EvidenceLog) -> None:
    rule_files = sorted(rules_dir.glob("*.yml"))
    test_files = sorted(tests_dir.glob("*.yml"))
    assert rule_files, f"no alert rule files in {rules_dir}"
    check = _promtool("check", "rules", *map(str, rule_files))
    evidence.log("promtool check rules", check.stdout + check.stderr)
    assert check.returncode == 0, "promtool rejects the alert rules"
    untested = sorted(alert_names(rule_files) - alerts_tested_firing(test_files))
    evidence.note("alerts without a test that makes them fire", ", ".join(untested) or "none")
    assert not untested, f"alert rules without a promtool test that fires them: {untested}"
    result = _promtool("test", "rules", *map(str, test_files))
    evidence.log("promtool test rules", result.stdout + result.stderr, lines=60)
    assert result.returncode == 0, "promtool unit tests of the alert rules fail"


def _epoch(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp).timestamp()


def firing_alerts(capture_url: str, since: float) -> list[dict[str, Any]]:
    """Firing alerts Alertmanager delivered to the capture webhook that started at or
    after `since` (wall clock, seconds): what an incident that began then can have caused.

    Resolved notifications never count, nor an alert whose `startsAt` precedes `since`
    (left over from an earlier check), give or take STARTS_AT_SLACK_S.
    """
    answer = httpx.get(f"{capture_url}/webhooks/alertmanager", timeout=5).json()
    return [
        alert
        for notification in answer["items"]
        if isinstance(notification, dict)
        for alert in notification.get("alerts", [])
        if alert.get("status") == "firing"
        and _epoch(alert.get("startsAt", "1970-01-01T00:00:00Z")) >= since - STARTS_AT_SLACK_S
    ]


def delivered(
    capture_url: str, alertname: str, since: float, services: tuple[str, ...] | None = None
) -> dict[str, Any] | None:
    """The first firing notification of `alertname` (for one of `services`, when given)
    that started after `since`, if any."""
    for alert in firing_alerts(capture_url, since):
        labels = alert["labels"]
        if labels.get("alertname") == alertname and (
            services is None or labels.get("service") in services
        ):
            return alert
    return None


def wait_for_alert(
    capture_url: str, alertname: str, deadline_s: float, evidence: EvidenceLog, *, since: float
) -> dict[str, Any]:
    """Wait until Alertmanager delivers `alertname` firing, started after `since` (the
    fault's FaultWindow.started_at); fail naming what did arrive."""
    started = time.monotonic()
    while time.monotonic() - started < deadline_s:
        alert = delivered(capture_url, alertname, since)
        if alert is not None:
            evidence.number(f"{alertname} delivered after", time.monotonic() - started, "s")
            evidence.note(f"{alertname} labels", f"{alert['labels']} startsAt {alert['startsAt']}")
            return alert
        time.sleep(POLL_S)
    seen = sorted({a["labels"].get("alertname", "?") for a in firing_alerts(capture_url, since)})
    evidence.note("alerts delivered since the fault", ", ".join(seen) or "none")
    raise AssertionError(f"{alertname} did not reach Alertmanager's receiver within {deadline_s}s")


def mail_about(
    capture_url: str, alertname: str, since: float, services: tuple[str, ...] | None = None
) -> list[dict[str, Any]]:
    """Alert e-mails about `alertname` firing (for one of `services`, when given: the
    default subject names the group's and common labels), received at or after `since`."""
    messages = httpx.get(f"{capture_url}/messages", timeout=5).json()["messages"]
    found = []
    for message in messages:
        words = set(message["subject"].replace("(", " ").replace(")", " ").split())
        if (
            message["subject"].startswith("[FIRING")
            and alertname in words
            and (services is None or not words.isdisjoint(services))
            and message.get("received_at", 0.0) >= since
        ):
            found.append(message)
    return found
