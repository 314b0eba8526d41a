"""What the self-test found: per defect, per check, caught or missed; as JSON and Markdown."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.checks.model import CheckResult, Severity, Status
from harness.checks.scoring import Policy
from harness.selftest.catalogue import Defect, Expectation

EXPECTED_STATUS = {"fail": Status.FAIL, "unknown": Status.UNKNOWN}
COLUMNS = (
    "defect",
    "title",
    "check",
    "expected severity",
    "judged severity",
    "expected status",
    "got",
    "caught/missed",
)


@dataclass(frozen=True)
class CheckVerdict:
    expectation: Expectation
    #: The check's severity after the policy's floors; None when it did not run.
    judged_severity: Severity | None
    got: str
    message: str = ""

    @property
    def ok(self) -> bool:
        wanted = EXPECTED_STATUS[self.expectation.expect]
        return self.got == str(wanted) and self.judged_severity == self.expectation.severity


def judge(expectation: Expectation, result: CheckResult | None, policy: Policy) -> CheckVerdict:
    if result is None:
        return CheckVerdict(expectation, None, str(Status.NOT_RUN))
    severity = policy.severity_of(result.check.id, result.check.severity)
    return CheckVerdict(expectation, severity, str(result.status), result.message)


@dataclass
class DefectOutcome:
    defect: Defect
    checks: list[CheckVerdict]
    #: Why the defect was missed before any check could judge it (patch, start, healthy run).
    reason: str = ""
    duration_s: float = 0.0

    @property
    def caught(self) -> bool:
        return not self.reason and bool(self.checks) and all(c.ok for c in self.checks)

    def why_missed(self) -> str:
        if self.caught:
            return ""
        if self.reason:
            return self.reason
        wrong = [c for c in self.checks if not c.ok]
        return "; ".join(
            f"{c.expectation.check} ended {c.got} at {c.judged_severity or '-'}, expected "
            f"{c.expectation.expect} at {c.expectation.severity}"
            + (f" ({c.message})" if c.message else "")
            for c in wrong
        )


@dataclass
class SelftestOutcome:
    defects: list[DefectOutcome]
    #: Each check's status on the unpatched tree.
    healthy: dict[str, str]
    duration_s: float
    run_dir: Path

    @property
    def missed(self) -> list[DefectOutcome]:
        return [d for d in self.defects if not d.caught]

    @property
    def exit_code(self) -> int:
        return 1 if self.missed else 0


def rows(outcome: SelftestOutcome) -> list[tuple[str, ...]]:
    """One row per (defect, check), in COLUMNS order."""
    table = []
    for result in outcome.defects:
        for verdict in result.checks:
            expectation = verdict.expectation
            table.append(
                (
                    result.defect.id,
                    result.defect.title,
                    expectation.check,
                    str(expectation.severity),
                    str(verdict.judged_severity or "-"),
                    expectation.expect,
                    verdict.got,
                    "caught" if result.caught else "missed",
                )
            )
    return table


def to_json(outcome: SelftestOutcome) -> dict[str, Any]:
    return {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "duration_s": round(outcome.duration_s, 1),
        "caught": len(outcome.defects) - len(outcome.missed),
        "missed": len(outcome.missed),
        "healthy": outcome.healthy,
        "defects": [_defect_json(d) for d in outcome.defects],
    }


def _defect_json(result: DefectOutcome) -> dict[str, Any]:
    defect = result.defect
    return {
        "id": defect.id,
        "title": defect.title,
        "category": defect.category,
        "kind": defect.kind,
        "caught": result.caught,
        "why_missed": result.why_missed(),
        "duration_s": round(result.duration_s, 1),
        "checks": [
            {
                "check": v.expectation.check,
                "expected_severity": str(v.expectation.severity),
                "judged_severity": str(v.judged_severity) if v.judged_severity else None,
                "expected_status": v.expectation.expect,
                "got": v.got,
                "message": v.message,
            }
            for v in result.checks
        ],
    }


def to_markdown(outcome: SelftestOutcome) -> str:
    caught = len(outcome.defects) - len(outcome.missed)
    lines = [
        "# Self-test: seeded defects and the checks that catch them",
        "",
        f"**{caught} of {len(outcome.defects)} defects caught** in {outcome.duration_s:.0f} s.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += [
        "| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows(outcome)
    ]
    lines += ["", "## Time per defect", "", "| defect | category | result | seconds |"]
    lines += ["|---|---|---|---|"]
    lines += [
        f"| {d.defect.id} | {d.defect.category} | {'caught' if d.caught else 'missed'} "
        f"| {d.duration_s:.0f} |"
        for d in outcome.defects
    ]
    lines += ["", "## What the checks said", ""]
    lines += [
        f"- {d.defect.id} / {v.expectation.check}: {v.got}"
        + (f": {v.message}" if v.message else "")
        for d in outcome.defects
        for v in d.checks
    ]
    if outcome.missed:
        lines += ["", "## Missed", ""]
        lines += [f"- **{d.defect.id}**: {d.why_missed()}" for d in outcome.missed]
    lines += ["", "## The checks on the healthy system", ""]
    lines += [f"- {check}: {status}" for check, status in sorted(outcome.healthy.items())]
    return "\n".join(lines) + "\n"


def write(outcome: SelftestOutcome) -> tuple[Path, Path]:
    """selftest.json and selftest.md in the run's folder."""
    outcome.run_dir.mkdir(parents=True, exist_ok=True)
    as_json = outcome.run_dir / "selftest.json"
    as_json.write_text(json.dumps(to_json(outcome), indent=2) + "\n")
    as_markdown = outcome.run_dir / "selftest.md"
    as_markdown.write_text(to_markdown(outcome))
    return as_json, as_markdown
