"""Locust CSV files written by hand, in the exact shape Locust 2.x writes them."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

PERCENTILES = ("50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%")
STATS_HEADER = [
    "Type", "Name", "Request Count", "Failure Count", "Median Response Time",
    "Average Response Time", "Min Response Time", "Max Response Time",
    "Average Content Size", "Requests/s", "Failures/s", *PERCENTILES,
]  # fmt: skip
HISTORY_HEADER = [
    "Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s", *PERCENTILES,
    "Total Request Count", "Total Failure Count", "Total Median Response Time",
    "Total Average Response Time", "Total Min Response Time", "Total Max Response Time",
    "Total Average Content Size",
]  # fmt: skip


def stats_row(kind: str, name: str, requests: int, failures: int, p95: float, p99: float,
              rps: float) -> list[str]:  # fmt: skip
    percentiles = [str(p95 / 2)] * 5 + [str(p95), str(p99), str(p99)] + [str(p99)] * 3
    return [kind, name, str(requests), str(failures), str(p95 / 2), str(p95 / 2), "1",
            str(p99), "100", str(rps), "0", *percentiles]  # fmt: skip


def history_row(at: float, kind: str, name: str, total: int, failed: int, p95: float | None
                ) -> list[str]:  # fmt: skip
    p = "N/A" if p95 is None else str(p95)
    return [str(at), "10", kind, name, "1", "0", *([p] * len(PERCENTILES)),
            str(total), str(failed), "10", "10", "1", "100", "100"]  # fmt: skip


def _write(path: Path, header: list[str], rows: Iterable[list[str]]) -> None:
    lines = [",".join(header), *(",".join(row) for row in rows)]
    path.write_text("\n".join(lines) + "\n")


def write_run(
    prefix: Path,
    stats: list[list[str]],
    history: list[list[str]] | None = None,
    failures: list[list[str]] | None = None,
) -> Path:
    prefix.parent.mkdir(parents=True, exist_ok=True)
    total = [sum(int(r[2]) for r in stats), sum(int(r[3]) for r in stats)]
    aggregated = stats_row("", "Aggregated", total[0], total[1], 100, 200, 1)
    _write(Path(f"{prefix}_stats.csv"), STATS_HEADER, [*stats, aggregated])
    _write(Path(f"{prefix}_stats_history.csv"), HISTORY_HEADER, history or [])
    failure_header = ["Method", "Name", "Error", "Occurrences"]
    _write(Path(f"{prefix}_failures.csv"), failure_header, failures or [])
    return prefix
