"""Prometheus metrics of the chat service (alongside the shared ones in common)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from secureconnect.common.metrics import FAST_BUCKETS_S

WEBSOCKET_CONNECTIONS = Gauge(
    "chat_websocket_connections", "Open /ws connections on this instance", ["service"]
)
WEBSOCKET_CLOSES = Counter(
    "chat_websocket_closes_total", "/ws connections ended, by reason", ["service", "reason"]
)
MESSAGES = Counter(
    "chat_messages_total",
    "Message sends answered: created, or replayed for a repeated client_msg_id",
    ["service", "result"],
)
FANOUT_LATENCY = Histogram(
    "chat_fanout_latency_seconds",
    "From the event's creation (after commit) to its write on a socket; "
    "path=local for sockets of the instance that created it, remote via Redis",
    ["service", "path"],
    buckets=FAST_BUCKETS_S,
)
BUS_EVENTS = Counter(
    "chat_bus_events_total",
    "Events on the Redis bus: published, received, or dropped (degraded, overflow, invalid)",
    ["service", "result"],
)


def initialise(service: str) -> None:
    """Create every labelled series at zero, so dashboards and alerts see 0, not absence."""
    WEBSOCKET_CONNECTIONS.labels(service)
    for result in ("created", "replayed"):
        MESSAGES.labels(service, result)
    for path in ("local", "remote"):
        FANOUT_LATENCY.labels(service, path)
