"""Axis ticks a person reads at a glance: steps of 1, 2 or 5 times a power of ten.

A chart of a gauge that stayed 0, or of a rate of 1e-9/s, must not print
`1e-09` on its axis: an empty range becomes 0..1, and tick labels carry no
more decimals than their step needs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

NICE_STEPS = (1.0, 2.0, 5.0, 10.0)
DEFAULT_TICKS = 5


def nice_step(span: float, ticks: int = DEFAULT_TICKS) -> float:
    """The 1-2-5 step that cuts `span` into at most about `ticks` intervals."""
    raw = span / max(ticks, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in NICE_STEPS if m * magnitude >= raw)


def axis_range(values: Sequence[float], floor_at_zero: bool = True) -> tuple[float, float]:
    """The range an axis spans for `values`: from 0 (or their least) to their most;
    a flat or empty series spans a unit range, not a zero-width one."""
    if not values:
        return 0.0, 1.0
    lo = min(0.0, min(values)) if floor_at_zero else min(values)
    hi = max(values)
    if math.isclose(lo, hi, rel_tol=1e-12, abs_tol=1e-12):
        return lo, lo + (abs(lo) or 1.0)
    return lo, hi


def ticks(lo: float, hi: float, count: int = DEFAULT_TICKS) -> list[float]:
    """Tick values from a multiple of the step at or below `lo` to one at or above `hi`."""
    step = nice_step(hi - lo, count)
    first = math.floor(lo / step + 1e-9) * step
    values: list[float] = []
    value = first
    while value <= hi + step * 0.5 and len(values) <= count * 3:
        values.append(round(value, 12))
        value += step
    if values[-1] < hi:
        values.append(round(value, 12))
    return values


def tick_label(value: float, step: float) -> str:
    """`value` with the decimals its step needs: 0, 0.5, 1 — or 0, 250, 500."""
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    text = f"{value:,.{decimals}f}".replace(",", " ")
    return "0" if text.strip("-0. ") == "" else text
