"""Inline SVG charts, so report.html reads offline with no script or CDN.

Hand-written because the report must be one self-contained file and the
plotting libraries that emit SVG (matplotlib) would add a heavy dependency
for three chart shapes. Every axis is labelled with its unit and has 1-2-5
ticks (axes.py); fault windows are shaded on the timelines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

from harness.report.axes import axis_range, tick_label, ticks

BAR_HEIGHT = 22
LABEL_WIDTH = 300
PLOT_WIDTH = 420
CHART_W, CHART_H = 680, 250
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 30, 48
VERDICT_COLOURS = {
    "GO": "#2e7d32",
    "CONDITIONAL GO": "#f9a825",
    "INCONCLUSIVE": "#6a1b9a",
    "NO-GO": "#c62828",
}
FAULT_FILL = "#c62828"
LINE_COLOURS = ("#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#5d4037", "#c2185b")
GRID = "#e0e0e0"
LEGEND_W = 130
#: How units read on a y axis; a chart's title names the quantity.
AXIS_UNITS = {"ms": "milliseconds", "s": "seconds", "/s": "per second", "%": "percent"}
#: Longer labels stay in the title only: a rotated axis title has room for this many.
AXIS_TITLE_CHARS = 32
#: The trend chart's right margin: room for the last run's label.
TREND_RIGHT = 50
LEGEND_GAP, LEGEND_CHAR_W = 30, 7.0


def _bar_colour(value: float) -> str:
    if value >= 0.999:
        return "#2e7d32"
    return "#f9a825" if value >= 0.5 else "#c62828"


def score_bars(items: Sequence[tuple[str, float]]) -> str:
    """Horizontal bars, one per category, value in [0, 1]."""
    height = BAR_HEIGHT * len(items) + 10
    rows = []
    for index, (label, value) in enumerate(items):
        y = index * BAR_HEIGHT + 5
        width = max(PLOT_WIDTH * value, 1)
        rows.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 2}" width="{width:.1f}" height="{BAR_HEIGHT - 6}" '
            f'fill="{_bar_colour(value)}"/>'
            f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{y + 15}">{value:.0%}</text>'
        )
    return (
        f'<svg class="chart" role="img" aria-label="category scores (% of checks passed)" '
        f'width="{LABEL_WIDTH + PLOT_WIDTH + 60}" height="{height}" font-size="13">'
        f"{''.join(rows)}</svg>"
    )


@dataclass(frozen=True)
class Plot:
    """The plotting area of a chart and the value ranges it maps."""

    x_ticks: list[float]
    y_ticks: list[float]
    #: Room on the right, for a legend.
    right: float = RIGHT

    def px(self, x: float) -> float:
        lo, hi = self.x_ticks[0], self.x_ticks[-1]
        return LEFT + (x - lo) / (hi - lo) * (CHART_W - LEFT - self.right)

    def py(self, y: float) -> float:
        lo, hi = self.y_ticks[0], self.y_ticks[-1]
        return CHART_H - BOTTOM - (y - lo) / (hi - lo) * (CHART_H - TOP - BOTTOM)


def _grid(plot: Plot, x_labels: Sequence[str] | None = None) -> str:
    """Gridlines, tick labels and the frame of the plotting area."""
    parts = []
    y_step = plot.y_ticks[1] - plot.y_ticks[0]
    for value in plot.y_ticks:
        y = plot.py(value)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{CHART_W - plot.right}" y2="{y:.1f}" '
            f'stroke="{GRID}"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{tick_label(value, y_step)}</text>"
        )
    x_step = plot.x_ticks[1] - plot.x_ticks[0]
    for index, value in enumerate(plot.x_ticks):
        x = plot.px(value)
        text = x_labels[index] if x_labels is not None else tick_label(value, x_step)
        parts.append(
            f'<line x1="{x:.1f}" y1="{CHART_H - BOTTOM}" x2="{x:.1f}" y2="{CHART_H - BOTTOM + 4}" '
            f'stroke="#999"/><text x="{x:.1f}" y="{CHART_H - BOTTOM + 16}" '
            f'text-anchor="middle">{escape(text)}</text>'
        )
    parts.append(
        f'<rect x="{LEFT}" y="{TOP}" width="{CHART_W - LEFT - plot.right}" '
        f'height="{CHART_H - TOP - BOTTOM}" fill="none" stroke="#999"/>'
    )
    return "".join(parts)


def _axis_titles(title: str, x_title: str, y_title: str) -> str:
    middle_y = (TOP + CHART_H - BOTTOM) / 2
    return (
        f'<text x="{LEFT}" y="18" font-weight="bold">{escape(title)}</text>'
        f'<text class="axis-title" x="{(LEFT + CHART_W - RIGHT) / 2}" y="{CHART_H - 8}" '
        f'text-anchor="middle">{escape(x_title)}</text>'
        f'<text class="axis-title" x="14" y="{middle_y}" text-anchor="middle" '
        f'transform="rotate(-90 14 {middle_y})">{escape(y_title)}</text>'
    )


def _svg(label: str, body: str) -> str:
    return (
        f'<svg class="chart" role="img" aria-label="{escape(label)}" width="{CHART_W}" '
        f'height="{CHART_H}" viewBox="0 0 {CHART_W} {CHART_H}" font-size="11">{body}</svg>'
    )


@dataclass(frozen=True)
class FaultShade:
    """A fault window on a timeline, in seconds on the timeline's clock; an end of None
    (not recorded) is shaded to the end of the axis."""

    start_s: float
    end_s: float | None
    label: str


def _shades(plot: Plot, faults: Sequence[FaultShade]) -> str:
    parts = []
    lo, hi = plot.x_ticks[0], plot.x_ticks[-1]
    for fault in faults:
        start = min(max(fault.start_s, lo), hi)
        end = min(max(fault.end_s if fault.end_s is not None else hi, lo), hi)
        left, right = plot.px(start), plot.px(end)
        parts.append(
            f'<rect class="fault-window" x="{left:.1f}" y="{TOP}" '
            f'width="{max(right - left, 1):.1f}" '
            f'height="{CHART_H - TOP - BOTTOM}" fill="{FAULT_FILL}" fill-opacity="0.13">'
            f"<title>{escape(fault.label)}</title></rect>"
            f'<text x="{left + 4:.1f}" y="{TOP + 12}" fill="{FAULT_FILL}">'
            f"{escape(fault.label)}</text>"
        )
    return "".join(parts)


def _lines(plot: Plot, lines: Mapping[str, Sequence[Sequence[float]]]) -> str:
    parts = []
    for index, (label, points) in enumerate(lines.items()):
        colour = LINE_COLOURS[index % len(LINE_COLOURS)]
        path = " ".join(f"{plot.px(float(x)):.1f},{plot.py(float(y)):.1f}" for x, y in points)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        if len(lines) > 1:
            y = TOP + 16 * index
            parts.append(
                f'<rect x="{CHART_W - LEGEND_W + 8}" y="{y}" width="10" height="10" '
                f'fill="{colour}"/><text x="{CHART_W - LEGEND_W + 22}" y="{y + 9}">'
                f"{escape(label)}</text>"
            )
    return "".join(parts)


def line_chart(
    lines: Mapping[str, Sequence[Sequence[float]]],
    title: str,
    y_title: str,
    faults: Sequence[FaultShade] = (),
    x_title: str = "seconds since the experiment began",
) -> str:
    """Lines of (seconds, value) points through a fault, its windows shaded."""
    points = [p for series in lines.values() for p in series]
    if not points:
        return ""
    xs, ys = [float(p[0]) for p in points], [float(p[1]) for p in points]
    edges = [f.start_s for f in faults] + [f.end_s for f in faults if f.end_s is not None]
    plot = Plot(
        ticks(*axis_range(xs + edges)),
        ticks(*axis_range(ys)),
        LEGEND_W if len(lines) > 1 else RIGHT,
    )
    body = (
        _grid(plot)
        + _shades(plot, faults)
        + _lines(plot, lines)
        + _axis_titles(title, x_title + ("; shaded: fault window" if faults else ""), y_title)
    )
    return _svg(title, body)


def timeline(
    points: Sequence[Sequence[float]],
    label: str,
    unit: str = "",
    faults: Sequence[FaultShade] = (),
) -> str:
    """One series of a check's evidence, (seconds, value) points, its fault windows shaded."""
    return line_chart({label: points}, label, y_axis_title(label, unit), faults)


def y_axis_title(label: str, unit: str) -> str:
    """The unit, spelled out ("milliseconds"); a short label when there is no unit."""
    unit = unit.strip()
    if unit:
        return AXIS_UNITS.get(unit, unit)
    return label if len(label) <= AXIS_TITLE_CHARS else "value"


def trend_chart(points: Sequence[tuple[str, float, str, bool]]) -> str:
    """Score per run, oldest first, each point coloured by its verdict.

    `points`: (short run label, score in [0, 1], verdict, is the current run)."""
    if not points:
        return ""
    plot = Plot([float(i) for i in range(max(len(points), 2))], [0, 25, 50, 75, 100], TREND_RIGHT)
    every = max(1, len(points) // 8)
    labels = [
        points[i][0] if i % every == 0 and i < len(points) else "" for i in range(len(plot.x_ticks))
    ]
    path = " ".join(f"{plot.px(i):.1f},{plot.py(100 * p[1]):.1f}" for i, p in enumerate(points))
    marks = "".join(
        f'<circle cx="{plot.px(i):.1f}" cy="{plot.py(100 * score):.1f}" r="{7 if current else 5}" '
        f'fill="{VERDICT_COLOURS.get(verdict, "#777")}" stroke="#222" '
        f'stroke-width="{2 if current else 0}"><title>{escape(label)}: {verdict}, '
        f"{score:.0%}</title></circle>"
        for i, (label, score, verdict, current) in enumerate(points)
    )
    legend, x = [], float(LEFT)
    for verdict, colour in VERDICT_COLOURS.items():
        legend.append(
            f'<circle cx="{x + 5:.0f}" cy="{TOP - 16}" r="5" fill="{colour}"/>'
            f'<text x="{x + 13:.0f}" y="{TOP - 12}">{escape(verdict)}</text>'
        )
        x += LEGEND_GAP + LEGEND_CHAR_W * len(verdict)
    body = (
        _grid(plot, labels)
        + f'<polyline fill="none" stroke="#777" stroke-width="1.5" points="{path}"/>'
        + marks
        + "".join(legend)
        + _axis_titles(
            "", "runs, oldest to newest (ringed: this run)", "score (% of checks passed)"
        )
    )
    return _svg("score and verdict per run", body)
