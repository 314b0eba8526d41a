"""Grafana dashboards checked against the live Prometheus: every panel shows data, or could.

A dashboard panel whose query names a metric nobody exports (misspelled, renamed,
from the old implementation) is blank forever, and a blank panel in an incident
reads as "all quiet". Each panel's query is evaluated by the stack's Prometheus
(`/api/v1/query`). A query that answers nothing is only acceptable when every
metric it names has series and every label it matches on exists on that metric:
then it is empty for now (no 5xx yet), not blind.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from harness.checks.evidence import EvidenceLog
from harness.checks.library.alert_selectors import (
    POLL_S,
    QUERY_TIMEOUT_S,
    SERIES_DEADLINE_S,
    Selector,
    SeriesApi,
    selectors_in,
    why_unmatched,
)
from harness.errors import CheckError


@dataclass(frozen=True)
class Panel:
    """One query of one dashboard panel."""

    dashboard: str
    title: str
    expr: str

    @property
    def name(self) -> str:
        return f"{self.dashboard} / {self.title}"


def _walk(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _walk(panel.get("panels") or [])  # rows hold their panels


def panels(dashboards_dir: Path) -> list[Panel]:
    """Every query (`expr`) of every panel of the *.json dashboards in `dashboards_dir`."""
    found = []
    for path in sorted(dashboards_dir.glob("*.json")):
        try:
            dashboard = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise CheckError(f"cannot read dashboard {path}: {exc}") from exc
        title = str(dashboard.get("title") or path.stem)
        for panel in _walk(dashboard.get("panels") or []):
            for target in panel.get("targets") or []:
                if target.get("expr"):
                    found.append(Panel(title, str(panel.get("title")), str(target["expr"])))
    return found


def _blind(api: SeriesApi, selector: Selector) -> str | None:
    """Why a selector can never match: its metric or one of its labels does not exist."""
    if selector.metric is None:
        return None
    if api.count(selector.metric) == 0:
        return f"names {selector.metric}, which no service exports"
    for matcher in selector.matchers:
        if not api.values(matcher.label, selector.metric):
            return f"matches on {matcher.label}, a label {selector.metric} does not have"
    return None


def panel_state(api: SeriesApi, panel: Panel) -> tuple[str, str | None]:
    """What the panel shows now (evidence), and its defect if it cannot ever show data."""
    query = {"query": panel.expr}
    answer = httpx.get(f"{api.url}/api/v1/query", params=query, timeout=QUERY_TIMEOUT_S)
    try:
        body = answer.json()
    except ValueError:
        body = {}
    if answer.status_code != 200 or body.get("status") != "success":
        return "error", f"{panel.name}: the query does not evaluate: {answer.text[:200]}"
    series = len(body["data"]["result"])
    if series:
        return f"{series} series", None
    selectors = selectors_in(panel.name, panel.expr)
    for selector in selectors:
        reason = _blind(api, selector)
        if reason is not None:
            return "no data", f"{panel.name}: {panel.expr} {reason}"
    empty = [
        f"{s.render()}: {why_unmatched(api, s)}" for s in selectors if api.count(s.render()) == 0
    ]
    return f"no data yet ({'; '.join(empty) or 'no sample in the window'})", None


def dashboard_defects(
    dashboards_dir: Path, prometheus_url: str, evidence: EvidenceLog
) -> list[str]:
    """One defect per panel that cannot show data, asked again until a few scrapes passed."""
    api = SeriesApi(prometheus_url)
    found = panels(dashboards_dir)
    if not found:
        return [f"no dashboard panel with a query in {dashboards_dir}"]
    deadline = time.monotonic() + SERIES_DEADLINE_S
    while True:
        states = {panel: panel_state(api, panel) for panel in found}
        defects = [defect for _, defect in states.values() if defect is not None]
        if not defects or time.monotonic() >= deadline:
            break
        time.sleep(POLL_S)
    for panel, (shown, _) in states.items():
        evidence.note(panel.name, f"{panel.expr} → {shown}")
    return defects
