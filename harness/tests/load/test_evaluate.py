"""SLOs judged from Locust's CSV: breaches name the step and the numbers; the fault
window is cut out of the history exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.load.chart import window_chart
from harness.load.evaluate import MIN_SAMPLES, evaluate_run, evaluate_window
from harness.load.slo import ChaosSlo, SloFile, WindowSlo
from harness.load.stats import LocustStats, read_stats
from harness.load.timeline import AFTER, BEFORE, DURING, FaultWindow, phases, series
from harness.tests.load.csvdata import history_row, stats_row, write_run

SLO = SloFile.model_validate(
    {
        "reference_users": 10,
        "journeys": {
            "chat": {"p95_ms": 300, "p99_ms": 600, "max_error_ratio": 0.01, "min_rps": 2},
            "files": {"p95_ms": 500, "steps": {"files: PUT object": {"p95_ms": 900}}},
        },
    }
)


def _stats(tmp_path: Path, *rows: list[str], history: list[list[str]] | None = None) -> LocustStats:
    return read_stats(write_run(tmp_path / "locust", list(rows), history))


def test_a_run_within_every_slo_passes(tmp_path: Path) -> None:
    stats = _stats(
        tmp_path,
        stats_row("POST", "chat: send message", 100, 0, 120, 300, 2.5),
        stats_row("WS", "chat: message.new", 100, 1, 250, 500, 2.5),
        stats_row("PUT", "files: PUT object", 10, 0, 800, 900, 0.5),
        stats_row("META", "worker reporting", 2, 0, 0, 0, 0),
    )
    report = evaluate_run(stats, SLO, users=10)
    assert report.passed, [m.line() for m in report.breaches]
    assert report.unassigned == []
    p95 = next(m for m in report.measures if m.journey == "files" and m.metric == "p95")
    assert p95.step == "files: PUT object" and p95.limit == 900


def test_a_breach_names_the_worst_step_and_its_numbers(tmp_path: Path) -> None:
    stats = _stats(
        tmp_path,
        stats_row("POST", "chat: send message", 100, 0, 120, 300, 2.5),
        stats_row("GET", "chat: search", 20, 0, 450, 500, 0.5),
        stats_row("WS", "chat: message.new", 100, 3, 250, 500, 2.5),
    )
    report = evaluate_run(stats, SLO, users=10)
    lines = [m.line() for m in report.breaches]
    assert "chat p95 (chat: search): 450 ms (SLO <= 300 ms) BREACHED" in lines
    assert "chat error ratio: 1.36% (SLO <= 1.00%) BREACHED" in lines
    # files made no request at all: no evidence is no pass
    assert any(m.journey == "files" and m.metric == "requests" for m in report.breaches)


def test_a_percentile_of_too_few_samples_is_shown_but_not_judged(tmp_path: Path) -> None:
    few = MIN_SAMPLES["p95"] - 1
    stats = _stats(
        tmp_path,
        stats_row("POST", "chat: send message", 100, 0, 120, 300, 2.5),
        stats_row("POST", "chat: react", few, 0, 900, 900, 0.2),
    )
    report = evaluate_run(stats, SLO, users=10)
    assert not [m.line() for m in report.breaches if m.journey == "chat"]
    p95 = next(m for m in report.measures if m.journey == "chat" and m.metric == "p95")
    assert (p95.step, p95.measured, p95.verdict) == ("chat: send message", 120, "met")

    stats = _stats(tmp_path, stats_row("POST", "chat: react", few, 0, 900, 900, 0.2))
    report = evaluate_run(stats, SLO, users=1)
    p95 = next(m for m in report.measures if m.journey == "chat" and m.metric == "p95")
    assert not p95.breached and p95.measured == 900
    assert p95.verdict == f"not judged: no step has 20 samples (most: {few})"


def test_throughput_floor_scales_with_users(tmp_path: Path) -> None:
    stats = _stats(tmp_path, stats_row("POST", "chat: send message", 100, 0, 10, 20, 3.0))
    assert not [m for m in evaluate_run(stats, SLO, users=10).breaches if m.journey == "chat"]
    slow = [m.line() for m in evaluate_run(stats, SLO, users=20).breaches if m.journey == "chat"]
    assert slow == ["chat throughput: 3.00 req/s (SLO >= 4.00 req/s) BREACHED"]


def test_degraded_journeys_are_shown_but_waived(tmp_path: Path) -> None:
    stats = _stats(
        tmp_path,
        stats_row("POST", "chat: send message", 100, 0, 10, 20, 3.0),
        stats_row("PUT", "files: PUT object", 10, 5, 5000, 9000, 0.5),
        stats_row("GET", "video: nothing", 1, 0, 1, 1, 0.1),
    )
    report = evaluate_run(stats, SLO, users=10, degraded=["files"])
    assert report.passed
    assert all(m.waived for m in report.measures if m.journey == "files")
    assert any(not m.ok for m in report.measures if m.journey == "files")
    assert report.unassigned == ["video: nothing"]


def _history(t0: float) -> list[list[str]]:
    """chat never fails; files fail 6 of 10 between t0+10 and t0+20 (the fault), fast."""
    rows = []
    for second in range(0, 31, 2):
        at = t0 + second
        chat_total = second * 5
        files_total = second
        files_failed = 0 if second <= 10 else min(second - 10, 6)
        p95 = 50.0 if 10 < second <= 20 else 200.0
        rows.append(history_row(at, "POST", "chat: send message", chat_total, 0, 100.0))
        rows.append(history_row(at, "GET", "files: complete", files_total, files_failed, p95))
        rows.append(history_row(at, "", "Aggregated", chat_total + files_total, 0, 120.0))
    return rows


def test_the_fault_window_is_cut_out_of_the_history(tmp_path: Path) -> None:
    t0 = 1_800_000_000.0
    stats = _stats(
        tmp_path,
        stats_row("POST", "chat: send message", 150, 0, 100, 200, 5),
        stats_row("GET", "files: complete", 30, 6, 200, 200, 1),
        history=_history(t0),
    )
    table = phases(stats.history, FaultWindow("s3-down", t0 + 10, t0 + 20))
    assert table[BEFORE]["files"].requests == 10 and table[BEFORE]["files"].failures == 0
    assert table[DURING]["files"].requests == 10 and table[DURING]["files"].failures == 6
    assert table[DURING]["files"].max_p95_ms == 50.0
    assert table[AFTER]["files"].failures == 0 and table[AFTER]["chat"].requests == 50
    assert table[DURING]["chat"].error_ratio == 0.0

    chaos = ChaosSlo(
        journeys={
            "chat": WindowSlo(max_error_ratio=0.01),
            "files": WindowSlo(max_p95_ms=100, min_error_ratio=0.05),
        },
        degraded=["files"],
    )
    report = evaluate_run(stats, SLO, users=10, degraded=chaos.degraded)
    evaluate_window(table, chaos, report)
    window = [m for m in report.measures if m.metric.startswith("during fault")]
    assert {m.journey for m in window} == {"chat", "files"} and all(m.ok for m in window)
    strict = ChaosSlo(journeys={"files": WindowSlo(max_error_ratio=0.01)})
    evaluate_window(table, strict, report)
    assert [m.line() for m in report.breaches] == [
        "files during fault: error ratio: 60.00% (SLO <= 1.00%) BREACHED"
    ]


def test_the_timeline_has_a_series_per_journey_and_marks_the_fault(tmp_path: Path) -> None:
    t0 = 1_800_000_000.0
    history = _history(t0)
    stats = _stats(
        tmp_path, stats_row("POST", "chat: send message", 1, 0, 1, 1, 1), history=history
    )
    lines = series(stats.history, t0)
    assert set(lines) == {"chat", "files"}
    errors = {t: v for t, v in lines["files"]["errors_per_s"]}
    assert errors[12.0] == pytest.approx(1.0) and errors[30.0] == 0.0
    svg = window_chart({j: s["p95_ms"] for j, s in lines.items()}, "p95", " ms", (10.0, 20.0))
    assert svg.startswith("<svg") and 'fill="#c62828"' in svg and ">fault<" in svg
    assert window_chart({}, "empty", "") == ""
