"""The run seen through time: journeys before, during and after a fault.

Built from `_stats_history.csv` (with `--csv-full-history`, a row per step
every few seconds). Counts are exact: a phase's requests are the difference
of the cumulative counts at its edges. Latency is Locust's rolling 95th
percentile (its last ~10 s, failures included), so the first seconds of
"during" still carry some of "before"; a phase reports the worst value seen.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from harness.load.stats import META, HistoryRow

BEFORE, DURING, AFTER = "before", "during", "after"


@dataclass(frozen=True)
class FaultWindow:
    """When the fault was on, in Unix seconds (the clock of Locust's timestamps)."""

    scenario: str
    started_at: float
    ended_at: float


@dataclass
class PhaseStats:
    requests: int = 0
    failures: int = 0
    max_p95_ms: float | None = None

    @property
    def error_ratio(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


def _by_step(history: list[HistoryRow]) -> dict[str, list[HistoryRow]]:
    steps: dict[str, list[HistoryRow]] = defaultdict(list)
    for row in history:
        if row.type != META and row.journey:
            steps[row.name].append(row)
    return steps


def _cumulative(rows: list[HistoryRow], at: float) -> tuple[int, int]:
    """(requests, failures) a step had counted by time `at`."""
    seen = [r for r in rows if r.timestamp <= at]
    if not seen:
        return 0, 0
    return seen[-1].total_requests, seen[-1].total_failures


def phase_edges(history: list[HistoryRow], window: FaultWindow) -> dict[str, tuple[float, float]]:
    start = min((r.timestamp for r in history), default=window.started_at)
    end = max((r.timestamp for r in history), default=window.ended_at)
    return {
        BEFORE: (start - 1, window.started_at),
        DURING: (window.started_at, window.ended_at),
        AFTER: (window.ended_at, end + 1),
    }


def phases(history: list[HistoryRow], window: FaultWindow) -> dict[str, dict[str, PhaseStats]]:
    """phase -> journey -> requests, failures and worst rolling p95 in that phase."""
    result: dict[str, dict[str, PhaseStats]] = {}
    for phase, (start, end) in phase_edges(history, window).items():
        journeys: dict[str, PhaseStats] = defaultdict(PhaseStats)
        for rows in _by_step(history).values():
            stats = journeys[rows[0].journey]
            (req0, fail0), (req1, fail1) = _cumulative(rows, start), _cumulative(rows, end)
            stats.requests += req1 - req0
            stats.failures += fail1 - fail0
            inside = [r.p95_ms for r in rows if start < r.timestamp <= end and r.p95_ms]
            if inside:
                stats.max_p95_ms = max(stats.max_p95_ms or 0.0, *inside)
        result[phase] = dict(journeys)
    return result


def phases_json(table: dict[str, dict[str, PhaseStats]]) -> dict[str, Any]:
    return {
        phase: {
            journey: asdict(stats) | {"error_ratio": round(stats.error_ratio, 5)}
            for journey, stats in journeys.items()
        }
        for phase, journeys in table.items()
    }


def series(history: list[HistoryRow], started_at: float) -> dict[str, dict[str, list[list[float]]]]:
    """Per journey, two series of [seconds since start, value]: `p95_ms` (the worst step's
    rolling p95) and `errors_per_s` (failures between consecutive history rows)."""
    p95: dict[str, dict[float, float]] = defaultdict(dict)
    failures: dict[str, dict[float, float]] = defaultdict(lambda: defaultdict(float))
    for rows in _by_step(history).values():
        journey = rows[0].journey
        previous: HistoryRow | None = None
        for row in rows:
            at = round(row.timestamp - started_at, 1)
            if row.p95_ms is not None:
                p95[journey][at] = max(p95[journey].get(at, 0.0), row.p95_ms)
            if previous is not None and row.timestamp > previous.timestamp:
                new = row.total_failures - previous.total_failures
                failures[journey][at] += new / (row.timestamp - previous.timestamp)
            previous = row
    return {
        journey: {
            "p95_ms": sorted([t, v] for t, v in p95[journey].items()),
            "errors_per_s": sorted([t, v] for t, v in failures[journey].items()),
        }
        for journey in sorted(set(p95) | set(failures))
    }
