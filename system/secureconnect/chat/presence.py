"""Presence: who is online, and when they were last seen.

Policy:
- A user is online while at least one of their WebSockets is open, on any
  instance. Each instance claims its own users in Redis and renews the claims
  every PRESENCE_REFRESH_S; a claim lives PRESENCE_TTL_S, so the users of an
  instance that died go offline within that time.
- last_seen is the last time a socket of the user opened, closed or was
  renewed; it is kept LAST_SEEN_TTL_S.
- This instance's own users are also kept in memory. While Redis is
  degraded, answers come from memory (and from the last answers Redis gave);
  when Redis returns, the resilient client's recovery hook writes the memory
  back (every local user's claim and last_seen, every departure) before the
  degraded flag clears, so presence after the outage is what memory held.
- `presence` events go to everyone who shares a conversation with the user,
  when their first socket opens and when their last one closes (and they
  are not online on another instance).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from secureconnect.chat.events import PRESENCE
from secureconnect.chat.fanout import EventBus
from secureconnect.chat.presence_store import PresenceRecord, PresenceStore
from secureconnect.common.clock import Clock
from secureconnect.common.resilient_redis import ResilientRedis

log = logging.getLogger(__name__)

PRESENCE_TTL_S = 60.0
PRESENCE_REFRESH_S = 20.0
LAST_SEEN_TTL_S = 30 * 24 * 3600.0
#: Answers remembered from Redis for use during an outage.
LAST_KNOWN_LIMIT = 100_000

ContactsOf = Callable[[uuid.UUID], Awaitable[set[uuid.UUID]]]


@dataclass
class LocalPresence:
    sockets: int
    last_seen: float


@dataclass(frozen=True)
class PresenceView:
    user_id: uuid.UUID
    online: bool
    last_seen: float | None

    def as_event(self) -> dict[str, object]:
        seen = None if self.last_seen is None else datetime.fromtimestamp(self.last_seen, UTC)
        return {
            "user_id": str(self.user_id),
            "status": "online" if self.online else "offline",
            "last_seen": None if seen is None else seen.isoformat(),
        }


class PresenceUnsynced(ConnectionError):
    """The write-back did not reach Redis; the resilient client retries recovery."""


class PresenceService:
    def __init__(self, store: PresenceStore, bus: EventBus, clock: Clock) -> None:
        self.store = store
        self.bus = bus
        self.clock = clock
        self.local: dict[uuid.UUID, LocalPresence] = {}
        #: Users who left this instance and whose departure Redis has not recorded.
        self.departed: dict[uuid.UUID, float] = {}
        self.last_known: dict[uuid.UUID, tuple[bool, float | None]] = {}
        self._refresher: asyncio.Task[None] | None = None

    async def connected(self, user_id: uuid.UUID, contacts: set[uuid.UUID]) -> None:
        now = self.clock.now()
        entry = self.local.get(user_id)
        if entry is not None:
            entry.sockets += 1
            entry.last_seen = now
            return
        self.local[user_id] = LocalPresence(1, now)
        self.departed.pop(user_id, None)
        self._remember(user_id, (True, now))
        await self.store.write([PresenceRecord(user_id, True, now)], now)
        self._announce(PresenceView(user_id, True, now), contacts)

    async def disconnected(self, user_id: uuid.UUID, contacts: set[uuid.UUID]) -> None:
        entry = self.local.get(user_id)
        if entry is None:
            return
        now = self.clock.now()
        entry.sockets -= 1
        entry.last_seen = now
        if entry.sockets > 0:
            return
        del self.local[user_id]
        self.departed[user_id] = now
        self.last_known.pop(user_id, None)  # what we just saw is newer than any answer
        if await self.store.write([PresenceRecord(user_id, False, now)], now):
            self.departed.pop(user_id, None)
        view = await self.status(user_id)
        if not view.online:
            self._announce(view, contacts)

    async def status(self, user_id: uuid.UUID) -> PresenceView:
        now = self.clock.now()
        from_redis = await self.store.read(user_id, now)
        entry = self.local.get(user_id)
        mine = entry.last_seen if entry else self.departed.get(user_id)
        if from_redis is None:
            online, seen = self.last_known.get(user_id, (False, None))
            online = online and user_id not in self.departed
        else:
            online, seen = from_redis
            self._remember(user_id, from_redis)
        online = online or entry is not None
        if mine is not None and (seen is None or mine > seen):
            seen = mine
        return PresenceView(user_id, online, seen)

    def _remember(self, user_id: uuid.UUID, answer: tuple[bool, float | None]) -> None:
        self.last_known.pop(user_id, None)
        self.last_known[user_id] = answer
        if len(self.last_known) > LAST_KNOWN_LIMIT:
            del self.last_known[next(iter(self.last_known))]

    def _announce(self, view: PresenceView, contacts: set[uuid.UUID]) -> None:
        recipients = contacts - {view.user_id}
        if recipients:
            self.bus.publish(PRESENCE, view.as_event(), recipients)

    def _records(self) -> list[PresenceRecord]:
        online = [PresenceRecord(u, True, e.last_seen) for u, e in self.local.items()]
        gone = [PresenceRecord(u, False, seen) for u, seen in self.departed.items()]
        return online + gone

    async def write_back(self, _: ResilientRedis) -> None:
        """Recovery hook: memory → Redis, exactly as held (raises to retry recovery)."""
        records = self._records()
        if not await self.store.write(records, self.clock.now(), force=True):
            raise PresenceUnsynced("presence write-back did not reach Redis")
        for record in records:
            if not record.online_here and self.departed.get(record.user_id) == record.last_seen:
                del self.departed[record.user_id]
        log.info("presence written back", extra={"users": len(records)})

    async def refresh(self) -> None:
        """Renew this instance's claims (and retry departures not yet recorded)."""
        now = self.clock.now()
        for entry in self.local.values():
            entry.last_seen = now
        records = self._records()
        if await self.store.write(records, now):
            for record in records:
                if not record.online_here and self.departed.get(record.user_id) == record.last_seen:
                    del self.departed[record.user_id]

    def start(self) -> None:
        self._refresher = asyncio.create_task(self._refresh_forever(), name="presence-refresh")

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(PRESENCE_REFRESH_S)  # a period, not a wait for a condition
            await self.refresh()

    async def stop(self) -> None:
        """Withdraw this instance's claims (a clean shutdown is not a crash)."""
        if self._refresher is not None:
            self._refresher.cancel()
        now = self.clock.now()
        await self.store.write([PresenceRecord(u, False, now) for u in self.local], now)
        self.local.clear()
