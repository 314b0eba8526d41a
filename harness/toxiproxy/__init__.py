"""Toxiproxy: the client of its HTTP API and the embedded Toxiproxy-compatible server."""

from harness.toxiproxy.client import (
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
