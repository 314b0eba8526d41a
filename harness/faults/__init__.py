"""Fault injection: Toxiproxy control and the embedded Toxiproxy-compatible server."""

from harness.faults.toxiproxy import (
    DOWNSTREAM,
    UPSTREAM,
    ProxyCounters,
    ProxyInfo,
    Stream,
    ToxicCounters,
    ToxicInfo,
    ToxiproxyClient,
    cut,
    flaky,
    half_open,
    latency,
    throttle,
    toxic,
)

__all__ = [
    "DOWNSTREAM",
    "UPSTREAM",
    "ProxyCounters",
    "ProxyInfo",
    "Stream",
    "ToxicCounters",
    "ToxicInfo",
    "ToxiproxyClient",
    "cut",
    "flaky",
    "half_open",
    "latency",
    "throttle",
    "toxic",
]
