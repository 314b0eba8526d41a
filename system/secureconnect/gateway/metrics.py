"""The gateway's own metrics (the shared HTTP ones are in common/metrics.py)."""

from __future__ import annotations

from prometheus_client import Counter

UPSTREAM_FAILOVERS = Counter(
    "gateway_upstream_failovers_total",
    "Requests sent to another instance because one could not be connected to",
    ["upstream"],
)
