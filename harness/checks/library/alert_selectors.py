"""Alert rules checked against reality: every selector must match series the scrape produces.

promtool proves a rule is valid PromQL and fires on the series its unit test
invents; neither notices a rule on a metric nobody exports, a misspelled label
or label value, or the wrong job: such a rule can never fire. Here each rule's
expression is parsed with `promql_parser` (bindings of the Rust crate that
follows Prometheus's own grammar) and every vector selector in it is asked of
the live Prometheus (`/api/v1/series`, over the whole history of the stack's
TSDB): it must match at least one series.

Some series only exist once their incident happened (the first 5xx, the first
Redis command). For an alert whose selectors match nothing yet, the caller's
`warm_up(alertname)` makes one small round of that incident's traffic; the
selectors are asked again until a few scrapes have passed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import promql_parser
import yaml

from harness.checks.evidence import EvidenceLog
from harness.errors import CheckError

QUERY_TIMEOUT_S = 10.0
#: How long a selector may take to match after a warm-up: a few scrape intervals (the
#: production scrape is 15 s; the harness's stacks scrape every second).
SERIES_DEADLINE_S = 20.0
POLL_S = 1.0
#: Label values shown when a matcher matches none of a metric's series.
VALUES_SHOWN = 8
MATCH_OPS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}

WarmUp = Callable[[str], None]


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str
    value: str

    def render(self) -> str:
        return f"{self.label}{self.op}{json.dumps(self.value)}"


@dataclass(frozen=True)
class Selector:
    """One vector selector of an alert's expression, without offset or @."""

    alert: str
    metric: str | None
    matchers: tuple[Matcher, ...]

    def render(self, matchers: tuple[Matcher, ...] | None = None) -> str:
        chosen = self.matchers if matchers is None else matchers
        inner = ", ".join(m.render() for m in chosen)
        if self.metric is not None and not inner:
            return self.metric
        return f"{self.metric or ''}{{{inner}}}"


@dataclass(frozen=True)
class AlertRule:
    name: str
    expr: str
    source: Path
    labels: dict[str, str] = field(default_factory=dict)


def alert_rules(rules_dir: Path) -> list[AlertRule]:
    """Every alerting rule of the *.yml files in `rules_dir`, in file order."""
    rules = []
    for path in sorted(rules_dir.glob("*.yml")):
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups", []):
            for rule in group.get("rules", []):
                if "alert" in rule:
                    labels = rule.get("labels") or {}
                    rules.append(AlertRule(rule["alert"], str(rule["expr"]), path, labels))
    return rules


def _matcher(raw: promql_parser.Matcher) -> Matcher:
    op = MATCH_OPS.get(str(raw.op).rsplit(".", 1)[-1])
    if op is None:
        raise CheckError(f"unknown PromQL match operator {raw.op}")
    return Matcher(raw.name, op, raw.value)


def selectors_of(rule: AlertRule) -> list[Selector]:
    """The vector selectors of a rule's expression (inside range vectors too)."""
    return selectors_in(rule.name, rule.expr)


def selectors_in(name: str, expr: str) -> list[Selector]:
    """The vector selectors of the PromQL expression `expr` (a rule's, a panel's) named `name`."""
    try:
        expression = promql_parser.parse(expr)
    except ValueError as exc:
        raise CheckError(f"{name}: cannot parse {expr!r}: {exc}") from exc
    nodes: list[promql_parser.Expr] = []
    promql_parser.walk(expression, nodes.append)
    selectors = []
    for node in nodes:
        if not isinstance(node, promql_parser.VectorSelector):
            continue
        if node.matchers.or_matchers:
            raise CheckError(f"{name}: `or` inside a selector is not supported")
        matchers = tuple(
            _matcher(m) for m in node.matchers.matchers if m.name != "__name__" or not node.name
        )
        selectors.append(Selector(name, node.name, matchers))
    return selectors


class SeriesApi:
    """The live Prometheus's view of what the scrape produced."""

    def __init__(self, prometheus_url: str) -> None:
        self.url = prometheus_url.rstrip("/")

    def _get(self, path: str, selector: str) -> list[object]:
        answer = httpx.get(
            f"{self.url}{path}", params={"match[]": selector}, timeout=QUERY_TIMEOUT_S
        )
        if answer.status_code != 200:
            raise CheckError(f"Prometheus refused {selector}: {answer.text[:200]}")
        data = answer.json()["data"]
        assert isinstance(data, list)
        return data

    def count(self, selector: str) -> int:
        return len(self._get("/api/v1/series", selector))

    def values(self, label: str, metric: str) -> list[str]:
        return [str(v) for v in self._get(f"/api/v1/label/{label}/values", metric)]


def why_unmatched(api: SeriesApi, selector: Selector) -> str:
    """Which part of a selector matches nothing: the metric, or one of its matchers."""
    if selector.metric is None:
        return "its matchers select no series"
    if api.count(selector.metric) == 0:
        return f"no series of {selector.metric} at all: nobody exports it (misspelled?)"
    for matcher in selector.matchers:
        if api.count(selector.render((matcher,))) == 0:
            known = api.values(matcher.label, selector.metric)
            shown = ", ".join(known[:VALUES_SHOWN]) + (" ..." if len(known) > VALUES_SHOWN else "")
            return (
                f"{matcher.render()} matches none of the series of {selector.metric} "
                f"(its {matcher.label} values: {shown or 'none, no such label'})"
            )
    return "its matchers together select no series"


def _counts(api: SeriesApi, selectors: list[Selector]) -> dict[Selector, int]:
    return {s: api.count(s.render()) for s in selectors}


def _await_matches(api: SeriesApi, selectors: list[Selector]) -> dict[Selector, int]:
    """Ask again until every selector matches or SERIES_DEADLINE_S passed."""
    deadline = time.monotonic() + SERIES_DEADLINE_S
    counts = _counts(api, selectors)
    while any(n == 0 for n in counts.values()) and time.monotonic() < deadline:
        time.sleep(POLL_S)
        counts = _counts(api, selectors)
    return counts


def selector_defects(
    rules_dir: Path, prometheus_url: str, evidence: EvidenceLog, warm_up: WarmUp | None = None
) -> list[str]:
    """One defect per selector of an alert rule that matches no series of the live scrape."""
    api = SeriesApi(prometheus_url)
    rules = alert_rules(rules_dir)
    if not rules:
        return [f"no alert rule in {rules_dir}"]
    selectors = {rule.name: selectors_of(rule) for rule in rules}
    counts = _counts(api, [s for found in selectors.values() for s in found])
    for alert in sorted({s.alert for s, n in counts.items() if n == 0}):
        if warm_up is not None:
            evidence.note(f"{alert} warm-up", "selectors matched nothing: one round of its recipe")
            warm_up(alert)
            counts |= _await_matches(api, selectors[alert])
    defects = []
    for rule in rules:
        found = [f"{s.render()} → {counts[s]} series" for s in selectors[rule.name]]
        evidence.note(f"{rule.name} selectors", "; ".join(found) or "none")
        for selector in selectors[rule.name]:
            if counts[selector] == 0:
                reason = why_unmatched(api, selector)
                defects.append(f"{rule.name} can never fire: {selector.render()}: {reason}")
    return defects
