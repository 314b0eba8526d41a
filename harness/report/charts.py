"""Inline SVG charts, so report.html reads offline with no script or CDN.

Hand-written because the report must be one self-contained file and the
plotting libraries that emit SVG (matplotlib) would add a heavy dependency
for two chart shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

BAR_HEIGHT = 22
LABEL_WIDTH = 300
PLOT_WIDTH = 420
LINE_W, LINE_H, PAD = 640, 200, 40


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
        f'<svg class="chart" role="img" aria-label="category scores" width="'
        f'{LABEL_WIDTH + PLOT_WIDTH + 60}" height="{height}" font-size="13">{"".join(rows)}</svg>'
    )


def timeline(points: Sequence[Sequence[float]], label: str, unit: str = "") -> str:
    """A line chart of (seconds, value) points: latency or state through a fault."""
    if not points:
        return ""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1 = min(xs), max(xs) or 1.0
    y1 = max(max(ys), 1e-9)
    span = (x1 - x0) or 1.0

    def px(x: float) -> float:
        return PAD + (x - x0) / span * (LINE_W - 2 * PAD)

    def py(y: float) -> float:
        return LINE_H - PAD + 10 - y / y1 * (LINE_H - 2 * PAD)

    path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, ys, strict=True))
    return (
        f'<svg class="chart" role="img" aria-label="{escape(label)}" width="{LINE_W}" '
        f'height="{LINE_H}" font-size="12">'
        f'<text x="{PAD}" y="16" font-weight="bold">{escape(label)}</text>'
        f'<line x1="{PAD}" y1="{LINE_H - PAD + 10}" x2="{LINE_W - PAD}" y2="{LINE_H - PAD + 10}" '
        f'stroke="#999"/>'
        f'<line x1="{PAD}" y1="{PAD - 10}" x2="{PAD}" y2="{LINE_H - PAD + 10}" stroke="#999"/>'
        f'<polyline fill="none" stroke="#1565c0" stroke-width="2" points="{path}"/>'
        f'<text x="4" y="{PAD - 2}">{y1:g}{escape(unit)}</text>'
        f'<text x="{LINE_W - PAD}" y="{LINE_H - 8}" text-anchor="end">{x1 - x0:.1f}s</text>'
        "</svg>"
    )
