"""The data both the Markdown and the HTML report are rendered from."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

from harness.checks.model import CATEGORIES, SEED_ROWS, CheckResult, Severity, Status
from harness.checks.scoring import CategoryScore, Policy, Scorecard, Verdict
from harness.report.charts import FaultShade, timeline
from harness.report.compose_inventory import ComposeInventory
from harness.report.diff import RunDiff
from harness.report.findings import (
    EffortRow,
    Finding,
    PrelaunchItem,
    effort,
    effort_days,
    findings_of,
    prelaunch_checklist,
    strengths,
    weaknesses,
)
from harness.report.inventory import InventoryRow, header_rows, inventory_rows
from harness.report.run import RunRecord
from harness.report.scope import Scope, scope_of
from harness.report.trends import Trends

VERDICT_MARK = {
    Verdict.GO: "✅",
    Verdict.CONDITIONAL: "⚠️",
    Verdict.INCONCLUSIVE: "❔",
    Verdict.NO_GO: "❌",
}
STATUS_MARK = {
    Status.PASS: "✅ PASS",
    Status.FAIL: "❌ FAIL",
    Status.UNKNOWN: "❔ UNKNOWN",
    Status.ERROR: "💥 ERROR",
    Status.SKIPPED: "⏭ SKIPPED",
    Status.NOT_RUN: "❔ NOT RUN",
}
SEVERITY_ORDER = list(Severity)
#: The seed's headings of its checklist, by severity.
ACTION_HEADINGS = {
    "BLOCKER": "MUST FIX BEFORE GO-LIVE (Blockers)",
    "HIGH": "SHOULD FIX BEFORE GO-LIVE (High Priority)",
    "MEDIUM": "CAN DEFER TO POST-LAUNCH (Medium Priority)",
    "LOW": "WHEN CONVENIENT (Low Priority)",
}
UNKNOWN_STATUSES = [s for s in Status if s.is_unknown]


def category_status(category: CategoryScore) -> str:
    if category.score == 1.0:
        return "✅ PASS"
    if category.failed_by_severity.get(Severity.BLOCKER):
        return "❌ FAIL"
    if category.passed == 0 and not category.failed_by_severity:
        return "❔ NOT JUDGED"
    return "⚠️ PARTIAL"


@dataclass
class SeverityCounts:
    """Passed, failed and unknown checks of one severity (or of a category)."""

    label: str
    passed: int = 0
    failed: int = 0
    #: Unknown checks by status: unknown, error, skipped, not run.
    unknown: Counter[str] | None = None

    @property
    def unknown_total(self) -> int:
        return sum((self.unknown or Counter()).values())

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.unknown_total

    @property
    def unknown_text(self) -> str:
        counts = self.unknown or Counter()
        return ", ".join(f"{counts[s]} {s}" for s in UNKNOWN_STATUSES if counts[s]) or "0"


def count(label: str, results: list[CheckResult]) -> SeverityCounts:
    unknown: Counter[str] = Counter(str(r.status) for r in results if r.status.is_unknown)
    return SeverityCounts(
        label,
        passed=sum(1 for r in results if r.status == Status.PASS),
        failed=sum(1 for r in results if r.status == Status.FAIL),
        unknown=unknown,
    )


@dataclass
class CategoryView:
    key: str
    title: str
    score: CategoryScore
    status: str
    results: list[CheckResult]
    failures: dict[str, list[CheckResult]]

    def by_severity(self, severity: str) -> SeverityCounts:
        return count(severity, [r for r in self.results if r.check.severity == severity])

    @property
    def seed_rows(self) -> str:
        """The seed audit's rows for this category ("-" where the seed had none)."""
        return str(SEED_ROWS[self.key]) if self.key in SEED_ROWS else "-"


@dataclass
class ReportView:
    run: RunRecord
    card: Scorecard
    diff: RunDiff | None
    categories: list[CategoryView]
    verdict_mark: str
    out_of_scope: list[CheckResult]
    scope: Scope
    findings: list[Finding]
    severity_counts: list[SeverityCounts]
    trends: Trends | None
    prelaunch: list[PrelaunchItem]

    @property
    def badge(self) -> str:
        return self.scope.badge(str(self.card.verdict))

    @property
    def judged(self) -> list[CheckResult]:
        return [r for r in self.run.results if r.in_scope]

    @property
    def load_results(self) -> list[tuple[CheckResult, list[dict[str, Any]]]]:
        """Load checks and their SLO measures (evidence of kind "slo", harness.load.report)."""
        return [
            (r, e.value)
            for r in sorted(self.judged, key=lambda r: r.check.id)
            for e in r.evidence
            if e.kind == "slo"
        ]

    @property
    def failures(self) -> list[CheckResult]:
        return [f.result for f in self.findings]

    @property
    def strengths(self) -> list[str]:
        return strengths(self.run.results)

    @property
    def weaknesses(self) -> list[tuple[str, str]]:
        return weaknesses(self.findings)

    @property
    def effort(self) -> list[EffortRow]:
        return effort(self.findings)

    @property
    def effort_total(self) -> str:
        return effort_days(self.effort)

    @property
    def compose(self) -> ComposeInventory:
        return self.run.compose

    @property
    def inventory(self) -> list[InventoryRow]:
        return inventory_rows(self.run.compose, self.run.components)

    @property
    def security_headers(self) -> list[tuple[str, dict[str, str | None]]]:
        return header_rows(self.run.components)

    def severity_of(self, check_id: str) -> str:
        found = [r.check.severity for r in self.run.results if r.check.id == check_id]
        return str(found[0]) if found else ""


def _shade_label(window: dict[str, Any]) -> str:
    label = f"{window['kind']} {window['target']}"
    return label if window.get("end_s") is not None else f"{label} (end not recorded)"


def timelines(result: CheckResult) -> list[str]:
    """The check's series as charts, each with the check's fault windows shaded."""
    faults = [
        FaultShade(e.value["start_s"], e.value.get("end_s"), _shade_label(e.value))
        for e in result.evidence
        if e.kind == "fault" and isinstance(e.value, dict) and e.value.get("start_s") is not None
    ]
    return [
        timeline(e.value, e.label, e.unit, faults) for e in result.evidence if e.kind == "series"
    ]


def _category_views(run: RunRecord, card: Scorecard) -> list[CategoryView]:
    views = []
    for score in card.categories:
        results = sorted(
            (r for r in run.results if r.in_scope and r.check.category == score.category),
            key=lambda r: r.check.id,
        )
        failures = {
            str(sev): [r for r in results if r.check.severity == sev and r.status != Status.PASS]
            for sev in SEVERITY_ORDER
        }
        title = CATEGORIES[score.category]
        views.append(
            CategoryView(score.category, title, score, category_status(score), results, failures)
        )
    return views


def build_view(
    run: RunRecord,
    card: Scorecard,
    diff: RunDiff | None,
    policy: Policy | None = None,
    trends: Trends | None = None,
) -> ReportView:
    """The view of `run`, its checks at the severities `policy` judged them at."""
    if policy is not None:
        run = replace(run, results=policy.apply(run.results))
    judged = [r for r in run.results if r.in_scope]
    return ReportView(
        run=run,
        card=card,
        diff=diff,
        categories=_category_views(run, card),
        verdict_mark=VERDICT_MARK[card.verdict],
        out_of_scope=[r for r in run.results if not r.in_scope],
        scope=scope_of(run),
        findings=findings_of(judged),
        severity_counts=[
            count(str(s), [r for r in judged if r.check.severity == s]) for s in SEVERITY_ORDER
        ],
        trends=trends,
        prelaunch=prelaunch_checklist(),
    )


def template_globals() -> dict[str, Any]:
    return {
        "STATUS_MARK": STATUS_MARK,
        "Status": Status,
        "severities": [str(s) for s in Severity],
        "timelines": timelines,
        "CATEGORIES": CATEGORIES,
        "ACTION_HEADINGS": ACTION_HEADINGS,
    }
