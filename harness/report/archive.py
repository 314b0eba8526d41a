"""The runs kept under `reports/`: the baseline of a diff and the points of the trends."""

from __future__ import annotations

from pathlib import Path

from harness.errors import ConfigError
from harness.report.run import RunRecord
from harness.report.scope import scope_key

RESULTS = "results.json"
#: How many of the newest runs the trends and the baseline search read.
HISTORY_LIMIT = 30


def past_runs(report_root: Path, limit: int = HISTORY_LIMIT) -> list[RunRecord]:
    """The newest `limit` readable runs, oldest first; unreadable ones are passed over."""
    if not report_root.is_dir():
        return []
    folders = sorted(
        (p for p in report_root.iterdir() if p.is_dir() and not p.is_symlink()),
        key=lambda p: p.name,
    )
    runs: list[RunRecord] = []
    for folder in reversed(folders):
        if len(runs) == limit:
            break
        try:
            runs.append(RunRecord.read(folder / RESULTS))
        except ConfigError:
            continue
    return sorted(runs, key=lambda r: (r.started_at, r.run_id))


def previous_of_same_scope(current: RunRecord, runs: list[RunRecord]) -> RunRecord | None:
    """The newest earlier run that judged the same scope: a diff compares like with like."""
    key = scope_key(current)
    earlier = [
        r
        for r in runs
        if r.run_id != current.run_id
        and (r.started_at, r.run_id)
        < (
            current.started_at,
            current.run_id,
        )
    ]
    for run in reversed(earlier):
        if scope_key(run) == key:
            return run
    return None
