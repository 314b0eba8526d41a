"""The data both the Markdown and the HTML report are rendered from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.checks.model import CATEGORIES, CheckResult, Severity, Status
from harness.checks.scoring import CategoryScore, Scorecard, Verdict
from harness.report.diff import RunDiff
from harness.report.run import RunRecord

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


def category_status(category: CategoryScore) -> str:
    if category.score == 1.0:
        return "✅ PASS"
    if category.failed_by_severity.get(Severity.BLOCKER):
        return "❌ FAIL"
    return "⚠️ PARTIAL"


@dataclass
class CategoryView:
    key: str
    title: str
    score: CategoryScore
    status: str
    results: list[CheckResult]
    failures: dict[str, list[CheckResult]]


@dataclass
class ReportView:
    run: RunRecord
    card: Scorecard
    diff: RunDiff | None
    categories: list[CategoryView]
    verdict_mark: str
    out_of_scope: list[CheckResult]

    @property
    def load_results(self) -> list[tuple[CheckResult, list[dict[str, Any]]]]:
        """Load checks and their SLO measures (evidence of kind "slo", harness.load.report)."""
        return [
            (r, e.value)
            for r in sorted(self.run.results, key=lambda r: r.check.id)
            for e in r.evidence
            if e.kind == "slo" and r.in_scope
        ]

    @property
    def failures(self) -> list[CheckResult]:
        bad = [r for r in self.run.results if r.in_scope and r.status != Status.PASS]
        return sorted(bad, key=lambda r: (SEVERITY_ORDER.index(r.check.severity), r.check.id))


def build_view(run: RunRecord, card: Scorecard, diff: RunDiff | None) -> ReportView:
    categories = []
    for score in card.categories:
        results = sorted(
            (r for r in run.results if r.in_scope and r.check.category == score.category),
            key=lambda r: r.check.id,
        )
        failures = {
            str(sev): [r for r in results if r.check.severity == sev and r.status != Status.PASS]
            for sev in SEVERITY_ORDER
        }
        categories.append(
            CategoryView(
                score.category,
                CATEGORIES[score.category],
                score,
                category_status(score),
                results,
                failures,
            )
        )
    out = [r for r in run.results if not r.in_scope]
    return ReportView(run, card, diff, categories, VERDICT_MARK[card.verdict], out)


def template_globals() -> dict[str, Any]:
    return {"STATUS_MARK": STATUS_MARK, "Status": Status, "severities": [str(s) for s in Severity]}
