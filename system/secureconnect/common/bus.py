"""Chat's event bus, as every service sees it: its channel, its envelope, the events
other services publish on it, and `BusPublisher`, with which they do (video's call
events, auth's revoked sessions).

The chat service owns the user sockets. Its contract (chat/fanout.py): an
envelope PUBLISHed on the Redis channel CHANNEL reaches every chat instance, each
handling it for its own sockets; while Redis cannot be reached, POST
INTERNAL_EVENTS_PATH on a chat instance (with a service token) does the same.
So: Redis first, HTTP when Redis is degraded or the publish fails — then to *every*
chat instance, since each handles only its own sockets while Redis is away (should
chat still reach Redis, an instance also forwards it on the bus and a socket may
see the event twice: harmless, unlike a lost one). A failure is counted and
logged, never raised to the caller: the database is the record, the bus only
tells the sockets sooner.

The envelope is JSON:

    {"origin": "video", "recipients": ["<user uuid>", ...],
     "type": "call.incoming", "data": {...}, "sent_at": <epoch seconds>}
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
from prometheus_client import Counter
from redis.exceptions import RedisError

from secureconnect.common.clock import Clock
from secureconnect.common.resilient_redis import ResilientRedis
from secureconnect.common.service_tokens import issue_service_token

log = logging.getLogger(__name__)

CHANNEL = "chat:events"
INTERNAL_EVENTS_PATH = "/internal/v1/events"
#: Most recipients one envelope may name.
MAX_RECIPIENTS = 10_000
PUBLISH_TIMEOUT_S = 0.5
HTTP_PUBLISH_TIMEOUT_S = 1.0

#: A call was placed: to the invitees' sockets (video).
CALL_INCOMING = "call.incoming"
#: A call changed: to its participants' sockets (video).
CALL_UPDATED = "call.updated"
#: A session or access token was revoked (logout, refresh-token reuse): sockets opened
#: with it are closed on every instance (auth). Data: {user_id, session_id, token_ids}.
SESSION_REVOKED = "session.revoked"
#: What other services may publish.
EXTERNAL_EVENT_TYPES = frozenset({CALL_INCOMING, CALL_UPDATED, SESSION_REVOKED})


@dataclass(frozen=True)
class Envelope:
    """An event on CHANNEL: for these users' sockets, from `origin` (a service or
    a chat instance)."""

    origin: str
    type: str
    data: dict[str, Any]
    recipients: list[uuid.UUID]
    sent_at: float

    def encode(self) -> str:
        envelope = {
            "origin": self.origin,
            "recipients": [str(r) for r in self.recipients],
            "type": self.type,
            "data": self.data,
            "sent_at": self.sent_at,
        }
        return json.dumps(envelope, separators=(",", ":"))

    @classmethod
    def decode(cls, raw: str | bytes) -> Envelope:
        """ValueError when malformed (the event type is the receiver's to judge)."""
        try:
            envelope = json.loads(raw)
            data, recipients = envelope["data"], envelope["recipients"]
            if not isinstance(data, dict):
                raise ValueError("data is not an object")
            if not isinstance(recipients, list) or len(recipients) > MAX_RECIPIENTS:
                raise ValueError("recipients must be a list of user ids")
            return cls(
                origin=str(envelope["origin"]),
                type=str(envelope["type"]),
                data=data,
                recipients=[uuid.UUID(str(r)) for r in recipients],
                sent_at=float(envelope.get("sent_at", 0.0)),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed envelope: {exc!r}") from exc


class BusPublisher:
    """`counter`: labelled (service, path, outcome), path "redis" or "http"."""

    def __init__(
        self,
        redis: ResilientRedis,
        chat_urls: list[str],
        jwt_key: str,
        clock: Clock,
        http: httpx.AsyncClient,
        counter: Counter,
    ) -> None:
        self.redis = redis
        self.chat_urls = [url.rstrip("/") for url in chat_urls]
        self.jwt_key = jwt_key
        self.clock = clock
        self.http = http
        self.counter = counter
        self.service = redis.service

    async def publish(
        self, event_type: str, data: dict[str, Any], recipients: Iterable[uuid.UUID]
    ) -> bool:
        """True when chat took the event (by Redis or by HTTP)."""
        users = list(dict.fromkeys(recipients))
        if not users:
            return True
        envelope = Envelope(self.service, event_type, data, users, self.clock.now())
        if not self.redis.degraded and await self._by_redis(envelope):
            return True
        return await self._by_http(envelope)

    async def _by_redis(self, envelope: Envelope) -> bool:
        try:
            async with asyncio.timeout(PUBLISH_TIMEOUT_S):
                await self.redis.client.publish(CHANNEL, envelope.encode())
        except (RedisError, OSError, TimeoutError) as exc:
            self.counter.labels(self.service, "redis", "failed").inc()
            log.warning("event publish failed", extra={"error": repr(exc)})
            return False
        self.counter.labels(self.service, "redis", "published").inc()
        return True

    async def _by_http(self, envelope: Envelope) -> bool:
        recipients = [str(r) for r in envelope.recipients]
        body = {"type": envelope.type, "recipients": recipients, "data": envelope.data}
        taken = await asyncio.gather(*(self._post(url, body) for url in self.chat_urls))
        outcome = "published" if any(taken) else "failed"
        self.counter.labels(self.service, "http", outcome).inc()
        return any(taken)

    async def _post(self, url: str, body: dict[str, Any]) -> bool:
        token = issue_service_token(self.jwt_key, self.service, self.clock)
        try:
            response = await self.http.post(
                url + INTERNAL_EVENTS_PATH,
                json=body,
                headers={"Authorization": f"Bearer {token}"},
                timeout=HTTP_PUBLISH_TIMEOUT_S,
            )
        except httpx.HTTPError as exc:
            log.warning("event post failed", extra={"url": url, "error": repr(exc)})
            return False
        if response.status_code != 202:
            log.warning("chat refused an event", extra={"status": response.status_code})
        return response.status_code == 202
