"""Write a finished run into its folder and point `reports/latest` at it."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from pathlib import Path

from harness.checks.model import CheckResult
from harness.checks.scoring import Policy, Scorecard
from harness.errors import ConfigError
from harness.report.diff import RunDiff, diff_runs
from harness.report.render import write_reports
from harness.report.run import RunRecord
from harness.report.view import build_view

LATEST = "latest"


def previous_run(report_root: Path) -> RunRecord | None:
    """The run `latest` points at, if it is readable; a broken one is no baseline."""
    try:
        return RunRecord.read(report_root / LATEST / "results.json")
    except ConfigError:
        return None


def publish(
    run_dir: Path,
    run_id: str,
    started_at: str,
    backend: str,
    profile: str,
    categories: list[str],
    results: list[CheckResult],
    policy: Policy,
    report_root: Path,
) -> Scorecard:
    record = RunRecord(
        run_id=run_id,
        started_at=started_at,
        finished_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        backend=backend,
        profile=profile,
        categories=categories,
        results=results,
    )
    card = record.scorecard(policy)
    previous = previous_run(report_root)
    diff = diff_runs(previous, record, policy) if previous is not None else None
    render_run(record, card, diff, run_dir)
    point_latest(report_root, run_dir)
    return card


def render_run(record: RunRecord, card: Scorecard, diff: RunDiff | None, run_dir: Path) -> None:
    record.write(run_dir / "results.json", card)
    if diff is not None:
        (run_dir / "diff.json").write_text(json.dumps(asdict(diff), indent=2) + "\n")
    write_reports(build_view(record, card, diff), run_dir)


def point_latest(report_root: Path, run_dir: Path) -> None:
    link = report_root / LATEST
    tmp = report_root / f".{LATEST}.tmp"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(run_dir.name)
    os.replace(tmp, link)


def _resolve(report_root: Path, run: str) -> Path:
    candidate = Path(run)
    return candidate if candidate.is_dir() else report_root / run


def rerender(
    report_root: Path, run: str, against: str | None, policy: Policy
) -> tuple[Path, Scorecard]:
    """Render a stored run again (e.g. under another policy or against another run)."""
    run_dir = _resolve(report_root, run).resolve()
    record = RunRecord.read(run_dir / "results.json")
    card = record.scorecard(policy)
    diff = None
    if against is not None:
        other = RunRecord.read(_resolve(report_root, against) / "results.json")
        diff = diff_runs(other, record, policy)
    render_run(record, card, diff, run_dir)
    return run_dir, card
