"""An inline SVG line chart of several series with the fault window shaded.

Same approach as harness.report.charts (hand-written SVG, readable offline),
with more than one line and a marked window, for the load timeline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

WIDTH, HEIGHT, PAD, LEGEND_W = 720, 240, 44, 110
COLOURS = ("#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#c62828", "#00838f", "#5d4037")


def window_chart(
    lines: Mapping[str, Sequence[Sequence[float]]],
    title: str,
    unit: str,
    window: tuple[float, float] | None = None,
) -> str:
    """Lines of (seconds, value) points; `window` (seconds) shaded as the fault."""
    points = [p for series in lines.values() for p in series]
    if not points:
        return ""
    x1 = max(max(p[0] for p in points), window[1] if window else 0.0, 1.0)
    y1 = max(max(p[1] for p in points), 1e-9)
    plot_w = WIDTH - 2 * PAD - LEGEND_W

    def px(x: float) -> float:
        return PAD + max(0.0, x) / x1 * plot_w

    def py(y: float) -> float:
        return HEIGHT - PAD - y / y1 * (HEIGHT - 2 * PAD)

    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{WIDTH}" '
        f'height="{HEIGHT}" font-size="12">',
        f'<text x="{PAD}" y="16" font-weight="bold">{escape(title)}</text>',
    ]
    if window is not None:
        left, right = px(window[0]), px(window[1])
        parts.append(
            f'<rect x="{left:.1f}" y="{PAD}" width="{right - left:.1f}" '
            f'height="{HEIGHT - 2 * PAD}" fill="#c62828" fill-opacity="0.12"/>'
            f'<text x="{left + 4:.1f}" y="{PAD + 12}" fill="#c62828">fault</text>'
        )
    parts.append(
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{PAD + plot_w}" y2="{HEIGHT - PAD}" '
        f'stroke="#999"/><line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{HEIGHT - PAD}" stroke="#999"/>'
        f'<text x="4" y="{PAD + 4}">{y1:.4g}{escape(unit)}</text>'
        f'<text x="{PAD + plot_w}" y="{HEIGHT - PAD + 16}" text-anchor="end">{x1:.0f}s</text>'
    )
    for index, (label, series) in enumerate(lines.items()):
        colour = COLOURS[index % len(COLOURS)]
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in series)
        ly = PAD + 16 * index
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{path}"/>'
            f'<rect x="{WIDTH - LEGEND_W}" y="{ly}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{WIDTH - LEGEND_W + 14}" y="{ly + 9}">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
