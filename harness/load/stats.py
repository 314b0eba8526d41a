"""Locust's CSV output (`--csv PREFIX --csv-full-history`) read into typed rows.

    PREFIX_stats.csv          one row per (type, name) over the whole run, then "Aggregated"
    PREFIX_stats_history.csv  a row per name every few seconds: cumulative counts and
                              rolling (last ~10 s) percentiles
    PREFIX_failures.csv       distinct errors with their counts

Rows of type META (the locustfile's bookkeeping) are not journeys' requests.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError

AGGREGATED = "Aggregated"
META = "META"


def _number(value: str | None) -> float | None:
    if value in (None, "", "N/A"):
        return None
    return float(value)


def _read(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(newline="") as handle:
            return list(csv.DictReader(handle))
    except FileNotFoundError as exc:
        raise HarnessError(f"Locust wrote no {path.name}; see its log beside it") from exc


def journey_of(name: str) -> str:
    """The journey of a request name `<journey>: <step>` ("" when it has none)."""
    return name.split(":", 1)[0].strip() if ":" in name else ""


@dataclass(frozen=True)
class RequestStats:
    """One row of `_stats.csv`: a step over the whole run."""

    type: str
    name: str
    requests: int
    failures: int
    median_ms: float | None
    average_ms: float | None
    max_ms: float | None
    rps: float
    p95_ms: float | None
    p99_ms: float | None

    @property
    def journey(self) -> str:
        return journey_of(self.name)

    @property
    def error_ratio(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class HistoryRow:
    """One row of `_stats_history.csv`."""

    timestamp: float
    users: int
    type: str
    name: str
    total_requests: int
    total_failures: int
    p95_ms: float | None
    p99_ms: float | None

    @property
    def journey(self) -> str:
        return journey_of(self.name)


@dataclass(frozen=True)
class FailureRow:
    method: str
    name: str
    error: str
    occurrences: int


@dataclass(frozen=True)
class LocustStats:
    requests: list[RequestStats]
    aggregated: RequestStats | None
    history: list[HistoryRow]
    failures: list[FailureRow]

    @property
    def meta(self) -> list[RequestStats]:
        return [r for r in self.requests if r.type == META]

    @property
    def journey_rows(self) -> list[RequestStats]:
        return [r for r in self.requests if r.type != META]


def _request(row: dict[str, str]) -> RequestStats:
    return RequestStats(
        type=row["Type"],
        name=row["Name"],
        requests=int(row["Request Count"]),
        failures=int(row["Failure Count"]),
        median_ms=_number(row["Median Response Time"]),
        average_ms=_number(row["Average Response Time"]),
        max_ms=_number(row["Max Response Time"]),
        rps=float(row["Requests/s"]),
        p95_ms=_number(row["95%"]),
        p99_ms=_number(row["99%"]),
    )


def _history(row: dict[str, str]) -> HistoryRow:
    return HistoryRow(
        timestamp=float(row["Timestamp"]),
        users=int(row["User Count"]),
        type=row["Type"],
        name=row["Name"],
        total_requests=int(row["Total Request Count"]),
        total_failures=int(row["Total Failure Count"]),
        p95_ms=_number(row["95%"]),
        p99_ms=_number(row["99%"]),
    )


def read_stats(prefix: Path) -> LocustStats:
    """Parse the three CSV files Locust wrote for `--csv prefix`."""
    base = str(prefix)
    try:
        rows = [_request(r) for r in _read(Path(f"{base}_stats.csv"))]
        history = [_history(r) for r in _read(Path(f"{base}_stats_history.csv"))]
        failures = [
            FailureRow(r["Method"], r["Name"], r["Error"], int(r["Occurrences"]))
            for r in _read(Path(f"{base}_failures.csv"))
        ]
    except (KeyError, ValueError) as exc:
        raise HarnessError(f"Locust's CSV at {base}_*.csv is not as expected: {exc}") from exc
    aggregated = next((r for r in rows if r.name == AGGREGATED and not r.type), None)
    requests = [r for r in rows if r is not aggregated]
    return LocustStats(requests, aggregated, history, failures)
