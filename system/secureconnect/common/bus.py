"""Publishing on chat's event bus from another service (video's call events, auth's
revoked sessions).

The chat service owns the user sockets. Its contract (chat/fanout.py): an
envelope PUBLISHed on the Redis channel CHAT_EVENTS_CHANNEL reaches every chat
instance, each handling it for its own sockets; while Redis cannot be reached,
POST /internal/v1/events on a chat instance (with a service token) does the same.
So: Redis first, HTTP when Redis is degraded or the publish fails — then to *every*
chat instance, since each handles only its own sockets while Redis is away (should
chat still reach Redis, an instance also forwards it on the bus and a socket may
see the event twice: harmless, unlike a lost one). A failure is counted and
logged, never raised to the caller: the database is the record, the bus only
tells the sockets sooner.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Iterable
from typing import Any

import httpx
from prometheus_client import Counter
from redis.exceptions import RedisError

from secureconnect.common.clock import Clock
from secureconnect.common.resilient_redis import ResilientRedis
from secureconnect.common.service_tokens import issue_service_token

log = logging.getLogger(__name__)

#: Must match chat's fan-out channel and envelope (secureconnect/chat/fanout.py).
CHAT_EVENTS_CHANNEL = "chat:events"
INTERNAL_EVENTS_PATH = "/internal/v1/events"
PUBLISH_TIMEOUT_S = 0.5
HTTP_PUBLISH_TIMEOUT_S = 1.0


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
        users = [str(r) for r in dict.fromkeys(recipients)]
        if not users:
            return True
        if not self.redis.degraded and await self._by_redis(event_type, data, users):
            return True
        return await self._by_http(event_type, data, users)

    async def _by_redis(self, event_type: str, data: dict[str, Any], users: list[str]) -> bool:
        envelope = {
            "origin": self.service,
            "recipients": users,
            "type": event_type,
            "data": data,
            "sent_at": self.clock.now(),
        }
        try:
            async with asyncio.timeout(PUBLISH_TIMEOUT_S):
                await self.redis.client.publish(
                    CHAT_EVENTS_CHANNEL, json.dumps(envelope, separators=(",", ":"))
                )
        except (RedisError, OSError, TimeoutError) as exc:
            self.counter.labels(self.service, "redis", "failed").inc()
            log.warning("event publish failed", extra={"error": repr(exc)})
            return False
        self.counter.labels(self.service, "redis", "published").inc()
        return True

    async def _by_http(self, event_type: str, data: dict[str, Any], users: list[str]) -> bool:
        body = {"type": event_type, "recipients": users, "data": data}
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
