"""Write a finished run into its folder and point `reports/latest` at it."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from harness.checks.model import CheckResult
from harness.checks.scoring import Policy, Scorecard
from harness.errors import ConfigError
from harness.report.archive import RESULTS, past_runs, previous_of_same_scope
from harness.report.compose_inventory import read_compose
from harness.report.diff import RunDiff, diff_runs
from harness.report.environment import describe_environment
from harness.report.inventory import ComponentRecord
from harness.report.render import write_reports
from harness.report.run import RunRecord
from harness.report.scope import scope_of
from harness.report.trends import Trends, trends_of
from harness.report.view import build_view

LATEST = "latest"


@dataclass(frozen=True)
class PublishedRun:
    run_dir: Path
    card: Scorecard
    #: The verdict with what narrows it: "GO — security only, smoke profile".
    badge: str


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
    *,
    services: list[str] | None = None,
    components: list[ComponentRecord] | None = None,
) -> PublishedRun:
    record = RunRecord(
        run_id=run_id,
        started_at=started_at,
        finished_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        backend=backend,
        profile=profile,
        categories=categories,
        results=results,
        environment=describe_environment(backend),
        services=services,
        components=components or [],
        compose=read_compose(),
    )
    card = record.scorecard(policy)
    history = past_runs(report_root)
    previous = previous_of_same_scope(record, history)
    diff = diff_runs(previous, record, policy) if previous is not None else None
    render_run(record, card, diff, run_dir, policy, trends_of(history, record, policy))
    point_latest(report_root, run_dir)
    return PublishedRun(run_dir, card, scope_of(record).badge(str(card.verdict)))


def render_run(
    record: RunRecord,
    card: Scorecard,
    diff: RunDiff | None,
    run_dir: Path,
    policy: Policy,
    trends: Trends | None = None,
) -> None:
    record.write(run_dir / RESULTS, card, scope_of(record).to_json(str(card.verdict)))
    if diff is not None:
        (run_dir / "diff.json").write_text(json.dumps(asdict(diff), indent=2) + "\n")
    write_reports(build_view(record, card, diff, policy, trends), run_dir)


def point_latest(report_root: Path, run_dir: Path) -> None:
    link = report_root / LATEST
    tmp = report_root / f".{LATEST}.tmp"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(run_dir.name)
    os.replace(tmp, link)


def _resolve(report_root: Path, run: str) -> Path:
    candidate = Path(run)
    return candidate if candidate.is_dir() else report_root / run


def _stored(report_root: Path, run: str, named_by: str) -> RunRecord:
    """The run `run` names; a ConfigError says which option named a missing one."""
    try:
        return RunRecord.read(_resolve(report_root, run).resolve() / RESULTS)
    except ConfigError as exc:
        raise ConfigError(f"{named_by} {run}: {exc}") from exc


def rerender(report_root: Path, run: str, against: str | None, policy: Policy) -> PublishedRun:
    """Render a stored run again (under another policy, or against another run than the
    newest earlier one of the same scope)."""
    run_dir = _resolve(report_root, run).resolve()
    record = _stored(report_root, run, "--run")
    card = record.scorecard(policy)
    history = past_runs(run_dir.parent)
    if against is not None:
        previous: RunRecord | None = _stored(report_root, against, "--diff")
    else:
        previous = previous_of_same_scope(record, history)
    diff = diff_runs(previous, record, policy) if previous is not None else None
    render_run(record, card, diff, run_dir, policy, trends_of(history, record, policy))
    return PublishedRun(run_dir, card, scope_of(record).badge(str(card.verdict)))
