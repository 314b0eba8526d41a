"""Event fan-out across chat instances: this instance's sockets first, then
Redis pub/sub for the others.

`EventBus.publish` queues the frame on the local sockets of the recipients
at once, then hands an envelope to a publisher task that PUBLISHes it on
CHANNEL; every instance subscribes and delivers envelopes from other origins
to its own sockets (the channel, the envelope and the events of other services:
common/bus.py). Events are notifications, never the record: the
database is the source of truth, and a client that missed events (a Redis
outage, a reconnect) catches up from history. So while Redis is degraded
nothing is published and local delivery simply continues.

Other services publish on the same channel (or through POST
/internal/v1/events when they cannot reach Redis).

The subscriber reconnects with backoff, is woken early by Redis recovery,
and pings its connection so a silent (half-open) one is replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from secureconnect.chat.events import BUS_EVENT_TYPES, CONTROL_EVENT_TYPES, encode
from secureconnect.chat.hub import ConnectionHub, Frame
from secureconnect.chat.metrics import BUS_EVENTS
from secureconnect.common.bus import CHANNEL, EXTERNAL_EVENT_TYPES, Envelope
from secureconnect.common.clock import Clock
from secureconnect.common.errors import DomainError
from secureconnect.common.resilient_redis import ResilientRedis
from secureconnect.common.settings import RedisSettings

log = logging.getLogger(__name__)

#: Envelopes waiting for the publisher; beyond this they are dropped (counted).
OUTBOX_LIMIT = 10_000
#: Envelopes sent in one pipeline.
PUBLISH_BATCH = 256
PUBLISH_TIMEOUT_S = 0.5
SUBSCRIBE_TIMEOUT_S = 0.5
#: How long one read waits for a message before the liveness bookkeeping runs.
POLL_S = 0.5
#: Silence after which the subscription is pinged, and after which it is replaced.
PING_AFTER_S = 2.0
SILENT_LIMIT_S = 5.0
RECONNECT_BACKOFF_S = (0.1, 0.25, 0.5, 1.0, 2.0)

_FAILURES = (RedisError, OSError, TimeoutError)

Observer = Callable[[dict[str, Any]], None]


def parse_envelope(raw: str | bytes) -> Envelope:
    """An envelope of an event the bus carries; ValueError when malformed."""
    envelope = Envelope.decode(raw)
    if envelope.type not in BUS_EVENT_TYPES:
        raise ValueError(f"unknown event type {envelope.type!r}")
    return envelope


class EventBus:
    def __init__(
        self,
        settings: RedisSettings,
        redis: ResilientRedis,
        hub: ConnectionHub,
        instance_id: str,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.hub = hub
        self.instance_id = instance_id
        self.clock = clock
        self.service = redis.service
        self._outbox: asyncio.Queue[str] = asyncio.Queue(maxsize=OUTBOX_LIMIT)
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._observers: dict[str, list[Observer]] = {}
        #: Set while the subscription is live (tests and /ready can await it).
        self.subscribed = asyncio.Event()

    def observe(self, event_type: str, observer: Observer) -> None:
        """Call `observer(data)` for every event of that type, local or from another instance."""
        self._observers.setdefault(event_type, []).append(observer)

    def _notify(self, event_type: str, data: dict[str, Any]) -> None:
        for observer in self._observers.get(event_type, ()):
            observer(data)

    def publish(self, event_type: str, data: dict[str, Any], recipients: Iterable[uuid.UUID]):
        """Deliver to local sockets now, and to the other instances through Redis."""
        recipients = list(dict.fromkeys(recipients))
        sent_at = self.clock.now()
        if event_type not in CONTROL_EVENT_TYPES:
            self.hub.deliver(recipients, Frame(encode(event_type, data), sent_at, "local"))
        self._notify(event_type, data)
        if self.redis.degraded:
            BUS_EVENTS.labels(self.service, "dropped_degraded").inc()
            return
        envelope = Envelope(self.instance_id, event_type, data, recipients, sent_at)
        try:
            self._outbox.put_nowait(envelope.encode())
        except asyncio.QueueFull:
            BUS_EVENTS.labels(self.service, "dropped_overflow").inc()

    def publish_external(
        self, event_type: str, data: dict[str, Any], recipients: Iterable[uuid.UUID]
    ) -> None:
        """An event another service hands over by HTTP (its Redis away): published as if
        it came on the bus; 422 for a type other services may not publish."""
        if event_type not in EXTERNAL_EVENT_TYPES:
            allowed = ", ".join(sorted(EXTERNAL_EVENT_TYPES))
            raise DomainError(422, "unsupported_event", f"type must be one of: {allowed}")
        self.publish(event_type, data, recipients)

    def deliver_envelope(self, raw: str | bytes) -> None:
        """An envelope from the channel: to this instance's sockets, unless it is ours."""
        try:
            envelope = parse_envelope(raw)
        except ValueError as exc:
            BUS_EVENTS.labels(self.service, "dropped_invalid").inc()
            log.warning("invalid envelope on the event bus", extra={"error": str(exc)})
            return
        if envelope.origin == self.instance_id:
            return
        BUS_EVENTS.labels(self.service, "received").inc()
        event_type, data = envelope.type, envelope.data
        if event_type not in CONTROL_EVENT_TYPES:
            frame = Frame(encode(event_type, data), envelope.sent_at, "remote")
            self.hub.deliver(envelope.recipients, frame)
        self._notify(event_type, data)

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._publish_forever(), name="bus-publisher"),
            asyncio.create_task(self._subscribe_forever(), name="bus-subscriber"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def wake(self, _: ResilientRedis) -> None:
        """Recovery hook: resubscribe now instead of at the end of the backoff."""
        self._wake.set()

    # -- publisher -------------------------------------------------------------

    async def _publish_forever(self) -> None:
        while True:
            batch = [await self._outbox.get()]
            while len(batch) < PUBLISH_BATCH and not self._outbox.empty():
                batch.append(self._outbox.get_nowait())
            if self.redis.degraded:
                BUS_EVENTS.labels(self.service, "dropped_degraded").inc(len(batch))
                continue
            try:
                async with asyncio.timeout(PUBLISH_TIMEOUT_S):
                    pipe = self.redis.client.pipeline(transaction=False)
                    for envelope in batch:
                        pipe.publish(CHANNEL, envelope)
                    await pipe.execute()
            except _FAILURES as exc:
                BUS_EVENTS.labels(self.service, "dropped_unreachable").inc(len(batch))
                log.warning("event bus publish failed", extra={"error": repr(exc)})
                continue
            BUS_EVENTS.labels(self.service, "published").inc(len(batch))

    # -- subscriber ------------------------------------------------------------

    def _client(self) -> Redis:
        password = self.settings.redis_password
        return Redis(
            host=self.settings.redis_host,
            port=self.settings.redis_port,
            password=password.get_secret_value() if password else None,
            socket_timeout=SUBSCRIBE_TIMEOUT_S,
            socket_connect_timeout=SUBSCRIBE_TIMEOUT_S,
            retry=Retry(NoBackoff(), 0),
            decode_responses=True,
        )

    async def _subscribe_forever(self) -> None:
        attempt = 0
        while True:
            try:
                await self._listen()
            except _FAILURES as exc:
                log.info("event bus subscription lost", extra={"error": repr(exc)})
            self.subscribed.clear()
            delay = RECONNECT_BACKOFF_S[min(attempt, len(RECONNECT_BACKOFF_S) - 1)]
            attempt += 1
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            if self._wake.is_set():
                attempt = 0

    async def _listen(self) -> None:
        client = self._client()
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT_S):
                await pubsub.subscribe(CHANNEL)
            self.subscribed.set()
            log.info("event bus subscribed", extra={"channel": CHANNEL})
            await self._read(pubsub)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
            with contextlib.suppress(Exception):
                await client.aclose()

    async def _read(self, pubsub: PubSub) -> None:
        last_heard = self.clock.monotonic()
        pinged = False
        while True:
            message = await pubsub.get_message(timeout=POLL_S)
            now = self.clock.monotonic()
            if message is not None:
                last_heard, pinged = now, False
                if message["type"] == "message":
                    self.deliver_envelope(message["data"])
                continue
            if now - last_heard > SILENT_LIMIT_S:
                raise TimeoutError(f"no answer on the subscription for {SILENT_LIMIT_S:g}s")
            if now - last_heard > PING_AFTER_S and not pinged:
                async with asyncio.timeout(SUBSCRIBE_TIMEOUT_S):
                    await pubsub.ping()
                pinged = True
