"""Metrics of the video service (names are part of the alerting contract)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

CALLS_ACTIVE = Gauge("calls_active", "Calls answered and not ended", ["service"])
CALLS_RINGING = Gauge("calls_ringing", "Calls ringing, not answered yet", ["service"])
CALL_TRANSITIONS = Counter(
    "call_transitions_total", "Call state changes", ["service", "to_state", "reason"]
)
SFU_PEER_CONNECTIONS = Gauge(
    "sfu_peer_connections", "Server-side WebRTC peer connections open in the SFU", ["service"]
)
SFU_ROOMS = Gauge("sfu_rooms", "Calls with an SFU room open on this instance", ["service"])
SFU_FORWARDED_TRACKS = Gauge(
    "sfu_forwarded_tracks", "Media tracks the SFU is sending to participants", ["service"]
)
SIGNALING_CONNECTIONS = Gauge(
    "signaling_connections", "Open /ws/calls signaling WebSockets", ["service"]
)
SIGNALING_ERRORS = Counter(
    "signaling_errors_total", "Signaling frames refused", ["service", "code"]
)
RECORDINGS = Counter("call_recordings_total", "Call recordings finished", ["service", "outcome"])
CALL_EVENTS = Counter(
    "call_events_total", "Call events handed to chat for delivery", ["service", "path", "outcome"]
)
