"""`call.incoming` / `call.updated` to the participants' `/ws` sockets, through chat's
event bus (common/bus.py: Redis first, chat's internal HTTP route when Redis is away).

Events are notifications, never the record: a client that missed one reads the call
with GET /api/v1/calls/{id}, so a failure is counted and logged, never raised to the
caller of the state change.
"""

from __future__ import annotations

import httpx
from prometheus_client import Counter

from secureconnect.common.bus import BusPublisher
from secureconnect.common.clock import Clock
from secureconnect.common.resilient_redis import ResilientRedis

CALL_INCOMING = "call.incoming"
CALL_UPDATED = "call.updated"

CALL_EVENTS = Counter(
    "call_events_total", "Call events handed to chat for delivery", ["service", "path", "outcome"]
)


class CallEvents(BusPublisher):
    def __init__(
        self,
        redis: ResilientRedis,
        chat_urls: list[str],
        jwt_key: str,
        clock: Clock,
        http: httpx.AsyncClient,
    ) -> None:
        super().__init__(redis, chat_urls, jwt_key, clock, http, CALL_EVENTS)
