"""The load timeline: one line per journey, the fault window shaded (harness.report.charts)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from harness.report.charts import FaultShade, line_chart, y_axis_title


def window_chart(
    lines: Mapping[str, Sequence[Sequence[float]]],
    title: str,
    unit: str,
    window: tuple[float, float] | None = None,
) -> str:
    """Lines of (seconds, value) points; `window` (seconds) shaded as the fault."""
    faults = [FaultShade(window[0], window[1], "fault")] if window is not None else []
    return line_chart(
        lines, title, y_axis_title(title, unit), faults, x_title="seconds since the load started"
    )
