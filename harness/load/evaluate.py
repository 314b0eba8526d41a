"""Judge a load run against its SLOs: one Measure per journey and metric.

Whole-run SLOs come from `_stats.csv`; the thresholds of a chaos scenario from
the fault window of `_stats_history.csv` (see harness.load.timeline). A run
passes when no Measure is breached; a waived one (a journey the scenario is
expected to degrade) is shown but not judged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from harness.load.slo import ChaosSlo, JourneySlo, SloFile
from harness.load.stats import LocustStats, RequestStats
from harness.load.timeline import DURING, PhaseStats

#: Samples a step needs before its percentile is judged: below 20, Locust's p95 is
#: the slowest request (one outlier decides); below 100, so is its p99. Steps with
#: fewer samples are still shown, and the journey's error ratio is judged all the same.
MIN_SAMPLES = {"p95": 20, "p99": 100}


@dataclass(frozen=True)
class Measure:
    journey: str
    metric: str
    measured: float
    limit: float
    unit: str
    ok: bool
    #: The step that decided it (the worst one for percentiles), if any.
    step: str = ""
    waived: bool = False
    #: Why the measure is shown but cannot be judged (too few samples), if so.
    unjudged: str = ""

    @property
    def breached(self) -> bool:
        return not self.ok and not self.waived and not self.unjudged

    @property
    def comparison(self) -> str:
        floors = ("throughput", "requests", "(fault visible)")
        return ">=" if self.metric.endswith(floors) else "<="

    @property
    def measured_text(self) -> str:
        return _fmt(self.measured, self.unit)

    @property
    def limit_text(self) -> str:
        return f"{self.comparison} {_fmt(self.limit, self.unit)}"

    @property
    def verdict(self) -> str:
        if self.waived:
            return "waived"
        if self.unjudged:
            return f"not judged: {self.unjudged}"
        return "met" if self.ok else "BREACHED"

    def line(self) -> str:
        where = f" ({self.step})" if self.step else ""
        return (
            f"{self.journey} {self.metric}{where}: {self.measured_text} "
            f"(SLO {self.limit_text}) {self.verdict}"
        )


def _fmt(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value * 100:.2f}%"
    if unit == "ms":
        return f"{value:.0f} ms" if value >= 10 else f"{value:.2g} ms"
    if unit == "req/s":
        return f"{value:.2f} req/s"
    return f"{value:g}{unit}"


@dataclass
class SloReport:
    measures: list[Measure] = field(default_factory=list)
    #: Request names no journey of the SLO file claims.
    unassigned: list[str] = field(default_factory=list)

    @property
    def breaches(self) -> list[Measure]:
        return [m for m in self.measures if m.breached]

    @property
    def passed(self) -> bool:
        return not self.breaches

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "measures": [asdict(m) | {"breached": m.breached} for m in self.measures],
            "unassigned": self.unassigned,
        }


def _worst(
    rows: list[RequestStats], limits: dict[str, float | None], attr: str
) -> tuple[float, float, str] | None:
    """(measured, limit, step) of the row furthest over (or closest to) its limit."""
    judged: list[tuple[float, float, str]] = []
    for row in rows:
        measured, limit = getattr(row, attr), limits[row.name]
        if measured is not None and limit is not None:
            judged.append((measured, limit, row.name))
    if not judged:
        return None
    return max(judged, key=lambda item: item[0] / item[1])


def evaluate_run(
    stats: LocustStats, slo: SloFile, users: int, degraded: list[str] | None = None
) -> SloReport:
    """Every journey's whole-run SLOs; journeys in `degraded` are waived."""
    rows = stats.journey_rows
    report = SloReport(unassigned=sorted({r.name for r in rows if r.journey not in slo.journeys}))
    for journey, objective in slo.journeys.items():
        mine = [r for r in rows if r.journey == journey]
        found = _journey_measures(journey, objective, mine, slo.min_rps(journey, users))
        waived = journey in (degraded or [])
        report.measures += [replace(m, waived=waived) for m in found]
    return report


def _journey_measures(
    journey: str, objective: JourneySlo, mine: list[RequestStats], min_rps: float
) -> list[Measure]:
    requests = sum(r.requests for r in mine)
    if requests == 0:
        return [Measure(journey, "requests", 0, 1, "", False)]
    found = [
        measure
        for attr, metric in (("p95_ms", "p95"), ("p99_ms", "p99"))
        if (measure := _percentile_measure(journey, objective, mine, attr, metric)) is not None
    ]
    ratio = sum(r.failures for r in mine) / requests
    limit = objective.max_error_ratio
    found.append(Measure(journey, "error ratio", ratio, limit, "%", ratio <= limit))
    if min_rps > 0:
        rps = sum(r.rps for r in mine)
        found.append(Measure(journey, "throughput", rps, min_rps, "req/s", rps >= min_rps))
    return found


def _percentile_measure(
    journey: str, objective: JourneySlo, mine: list[RequestStats], attr: str, metric: str
) -> Measure | None:
    """The worst step among those with enough samples to estimate the percentile;
    when no step has, the worst of all, shown but not judged."""
    limits = {r.name: getattr(objective.step(r.name), attr) for r in mine}
    needed = MIN_SAMPLES[metric]
    worst = _worst([r for r in mine if r.requests >= needed], limits, attr)
    if worst is not None:
        measured, limit, step = worst
        return Measure(journey, metric, measured, limit, "ms", measured <= limit, step)
    worst = _worst(mine, limits, attr)
    if worst is None:
        return None
    measured, limit, step = worst
    most = max(r.requests for r in mine)
    reason = f"no step has {needed} samples (most: {most})"
    return Measure(journey, metric, measured, limit, "ms", measured <= limit, step, unjudged=reason)


def evaluate_window(
    phases: dict[str, dict[str, PhaseStats]], chaos: ChaosSlo, report: SloReport
) -> None:
    """Add the fault window's measures of `chaos` to `report`."""
    during = phases.get(DURING, {})
    for journey, objective in chaos.journeys.items():
        seen = during.get(journey, PhaseStats())
        found = [
            Measure(
                journey,
                "requests",
                seen.requests,
                objective.min_requests,
                "",
                seen.requests >= objective.min_requests,
            )
        ]
        if objective.max_error_ratio is not None:
            ratio, limit = seen.error_ratio, objective.max_error_ratio
            found.append(Measure(journey, "error ratio", ratio, limit, "%", ratio <= limit))
        if objective.min_error_ratio is not None:
            ratio, floor = seen.error_ratio, objective.min_error_ratio
            found.append(
                Measure(journey, "error ratio (fault visible)", ratio, floor, "%", ratio >= floor)
            )
        if objective.max_p95_ms is not None and seen.max_p95_ms is not None:
            p95, limit = seen.max_p95_ms, objective.max_p95_ms
            found.append(Measure(journey, "p95", p95, limit, "ms", p95 <= limit))
        report.measures += [replace(m, metric=f"during fault: {m.metric}") for m in found]
