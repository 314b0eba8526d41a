"""The auditor's part of the report: findings, strengths and weaknesses, effort, checklist.

Each failed or unknown check becomes a finding laid out like the seed's:
numbered within its severity (BLOCKER-1, HIGH-2...), with its impact, the root
cause as measured (the failure and the evidence that shows it), the fix and
the seed finding it answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from harness.checks.model import CATEGORIES, CheckResult, Evidence, Severity, Status
from harness.errors import ConfigError

PRELAUNCH_FILE = Path(__file__).with_name("prelaunch.yaml")
#: When a check states no impact, what its severity means for the launch.
SEVERITY_IMPACT = {
    Severity.BLOCKER: "blocks go-live until fixed",
    Severity.HIGH: "should be fixed before go-live",
    Severity.MEDIUM: "can wait until after launch, watched by monitoring",
    Severity.LOW: "hardening or polish",
}
#: Rule-of-thumb hours to fix one finding of a severity (low, high), as the seed estimates;
#: an unknown check costs the time to make it judgeable (a skipped service, a harness bug).
EFFORT_HOURS = {
    Severity.BLOCKER: (4.0, 16.0),
    Severity.HIGH: (2.0, 8.0),
    Severity.MEDIUM: (1.0, 4.0),
    Severity.LOW: (0.5, 2.0),
}
UNKNOWN_EFFORT_HOURS = (1.0, 4.0)
WORKDAY_HOURS = 8.0
#: Evidence shown as a chart or a table of its own, not as text under "measured".
DRAWN_KINDS = ("series", "chart", "slo")


@dataclass
class Finding:
    label: str
    result: CheckResult

    @property
    def impact(self) -> str:
        check = self.result.check
        return (
            check.impact
            or f"Not stated by the check; a {check.severity} finding "
            + (SEVERITY_IMPACT[check.severity])
        )

    @property
    def root_cause(self) -> str:
        if self.result.status == Status.FAIL:
            return self.result.message or "the check failed without a message"
        return f"not judged ({self.result.status}): {self.result.message or 'no reason recorded'}"

    @property
    def measured(self) -> list[Evidence]:
        """The evidence that shows the cause, drawn ones aside."""
        return [e for e in self.result.evidence if e.kind not in DRAWN_KINDS]


def findings_of(results: list[CheckResult]) -> list[Finding]:
    """Failed checks, then unknown ones, by severity; numbered per severity like the seed."""
    ordered = sorted(
        (r for r in results if r.in_scope and r.status != Status.PASS),
        key=lambda r: (list(Severity).index(r.check.severity), r.status.is_unknown, r.check.id),
    )
    numbers: dict[str, int] = {}
    findings = []
    for result in ordered:
        severity = str(result.check.severity)
        numbers[severity] = numbers.get(severity, 0) + 1
        findings.append(Finding(f"{severity}-{numbers[severity]}", result))
    return findings


def strengths(results: list[CheckResult]) -> list[str]:
    """Categories where every check passed, and the BLOCKER checks that passed elsewhere."""
    judged = [r for r in results if r.in_scope]
    lines = []
    for key, title in CATEGORIES.items():
        mine = [r for r in judged if r.check.category == key]
        if mine and all(r.status == Status.PASS for r in mine):
            lines.append(f"{title}: all {len(mine)} check(s) passed")
    whole = {r.check.category for r in judged if r.status != Status.PASS}
    lines += [
        f"{r.check.title} ({r.check.id})"
        for r in sorted(judged, key=lambda r: r.check.id)
        if r.status == Status.PASS
        and r.check.severity == Severity.BLOCKER
        and r.check.category in whole
    ]
    return lines


def weaknesses(findings: list[Finding]) -> list[tuple[str, str]]:
    """(kind, line): kind "fail" for a failure, "unknown" for a check not judged."""
    return [
        (
            "fail" if f.result.status == Status.FAIL else "unknown",
            f"{f.result.check.title} ({f.label}, {f.result.check.id}"
            + ("" if f.result.status == Status.FAIL else f", {f.result.status}")
            + ")",
        )
        for f in findings
    ]


@dataclass(frozen=True)
class EffortRow:
    priority: str
    issues: int
    low_h: float
    high_h: float

    @property
    def text(self) -> str:
        return f"{self.low_h:g}–{self.high_h:g} h" if self.issues else "—"


def effort(findings: list[Finding]) -> list[EffortRow]:
    rows = []
    failed = [f.result for f in findings if f.result.status == Status.FAIL]
    for severity, (low, high) in EFFORT_HOURS.items():
        count = sum(1 for r in failed if r.check.severity == severity)
        rows.append(EffortRow(str(severity), count, low * count, high * count))
    unknown = sum(1 for f in findings if f.result.status != Status.FAIL)
    low, high = UNKNOWN_EFFORT_HOURS
    rows.append(EffortRow("not judged (make it judgeable)", unknown, low * unknown, high * unknown))
    return rows


def effort_days(rows: list[EffortRow]) -> str:
    low = sum(r.low_h for r in rows) / WORKDAY_HOURS
    high = sum(r.high_h for r in rows) / WORKDAY_HOURS
    return f"{low:.1f}–{high:.1f} days" if high else "none"


@dataclass(frozen=True)
class PrelaunchItem:
    item: str
    why: str


def prelaunch_checklist(path: Path = PRELAUNCH_FILE) -> list[PrelaunchItem]:
    """What no run can verify (production secrets, SMTP provider...): prelaunch.yaml."""
    try:
        raw = yaml.safe_load(path.read_text())
        return [PrelaunchItem(str(e["item"]), str(e["why"])) for e in raw["checklist"]]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise ConfigError(f"pre-launch checklist {path} is unreadable: {exc}") from exc
