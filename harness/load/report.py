"""A load run in the readiness report: its evidence, its check result, its run folder.

Evidence kinds added here: `slo` (the measures, a table in both reports) and
`chart` (an inline SVG, shown in report.html only).
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from harness.checks.model import CheckResult, Evidence, Status
from harness.checks.scoring import Policy, Scorecard
from harness.load.checks import SLO_CHECK, chaos_check
from harness.load.evaluate import Measure
from harness.load.session import LoadOutcome, charts, fault_seconds
from harness.report.publish import publish


def slo_row(measure: Measure) -> dict[str, Any]:
    """A measure as the report shows it: the numbers and their text."""
    return asdict(measure) | {
        "measured_text": measure.measured_text,
        "limit_text": measure.limit_text,
        "verdict": measure.verdict,
    }


def load_evidence(outcome: LoadOutcome) -> list[Evidence]:
    items = [
        Evidence("slo", "SLO measures", [slo_row(m) for m in outcome.report.measures]),
        Evidence("text", "target", f"{outcome.target} ({outcome.target_source})"),
        Evidence("number", "users", outcome.users),
        Evidence("text", "load average (1, 5, 15 min) at start / end", str(outcome.load_average)),
        Evidence("text", "results", str(outcome.load_dir)),
    ]
    if outcome.window is not None:
        items.append(Evidence("text", "fault window (s since start)", str(fault_seconds(outcome))))
        items += [Evidence("text", "fault proof", proof) for proof in outcome.fault_proof]
        phases = {
            phase: {j: f"{s.failures}/{s.requests} failed" for j, s in journeys.items()}
            for phase, journeys in outcome.phases.items()
        }
        items.append(Evidence("text", "failures before / during / after", str(phases)))
    top = sorted(outcome.stats.failures, key=lambda f: -f.occurrences)[:5]
    if top:
        lines = "\n".join(f"{f.occurrences}x {f.method} {f.name}: {f.error}" for f in top)
        items.append(Evidence("log", "most frequent failures", lines))
    items += [Evidence("chart", "timeline", svg) for svg in charts(outcome) if svg]
    return items


def load_result(outcome: LoadOutcome, duration_s: float) -> CheckResult:
    check = chaos_check(outcome.window.scenario) if outcome.window is not None else SLO_CHECK
    breaches = outcome.report.breaches
    message = "; ".join(m.line() for m in breaches[:3]) if breaches else ""
    status = Status.FAIL if breaches else Status.PASS
    if outcome.inert_fault is not None:  # the fault tested nothing: not judged
        status, message = Status.UNKNOWN, outcome.inert_fault
    return CheckResult(
        check, status, round(duration_s, 3), message, "readiness load", load_evidence(outcome)
    )


def publish_load(
    outcome: LoadOutcome,
    run_dir: Path,
    run_id: str,
    started_at: str,
    duration_s: float,
    policy: Policy,
    report_root: Path,
) -> Scorecard:
    """Write the readiness report of a `readiness load` run (category load) into run_dir."""
    result = load_result(outcome, duration_s)
    backend = "local" if "started for this run" in outcome.target_source else "attached"
    return publish(
        run_dir, run_id, started_at, backend, "load", ["load"], [result], policy, report_root
    ).card


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
