"""The gateway's rate-limit counters: counted in memory, added up in Redis in batches.

Every proxied request is counted against its address and its user. Asking Redis for
each one put a round trip (through Toxiproxy to Redis and back) on every request: about
a fifth of the gateway's CPU per request and a hop of its latency. So each instance
counts in memory and, at most every SYNC_INTERVAL_S while it has counted something,
adds what it counted to Redis in one script call, which answers every window's total
across instances.

What a limit promises: a window's count is the last total Redis gave plus what this
instance counted since. A lone instance therefore cuts a window at its limit exactly;
with n instances, the others' requests are seen within one interval, so they can admit
up to (n - 1) x rate x SYNC_INTERVAL_S beyond a limit (the gateway's limits are
thousands a minute, so well under a percent). While Redis cannot be asked, the counts
stay here and are added when it answers again, as long as their window lasts.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from secureconnect.common.clock import SYSTEM_CLOCK, Clock
from secureconnect.common.resilient_redis import ResilientRedis
from secureconnect.common.tasks import stop

#: Longest a count stays in this instance only, while Redis answers.
SYNC_INTERVAL_S = 0.1


@dataclass
class Window:
    #: Monotonic time at which the window (and its Redis key) is over.
    ends_at: float
    #: Every instance's count, as of the last sync.
    total: int = 0
    #: Counted here, not yet sent.
    unsent: int = 0
    #: Counted here, sent in the sync that is out.
    sending: int = 0

    @property
    def count(self) -> int:
        return self.total + self.sending + self.unsent


class SyncedCounters:
    """Window counters with the `incr_many` of `ResilientRedis`, synced in batches."""

    def __init__(
        self,
        redis: ResilientRedis,
        clock: Clock = SYSTEM_CLOCK,
        interval_s: float = SYNC_INTERVAL_S,
    ) -> None:
        self.redis = redis
        self.clock = clock
        self.interval_s = interval_s
        self.windows: dict[str, Window] = {}
        self._due = asyncio.Event()
        self._one_at_a_time = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def incr_many(self, counters: list[tuple[str, float]]) -> list[int]:
        """Count one event in each (key, ttl_s): each window's count so far."""
        now = self.clock.monotonic()
        counts = []
        for key, ttl_s in counters:
            window = self.windows.get(key)
            if window is None:
                window = self.windows[key] = Window(now + ttl_s)
            window.unsent += 1
            counts.append(window.count)
        self._due.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._sync_forever(), name="rate-limit-sync")
        return counts

    async def sync(self) -> None:
        """Send what was counted here (after a sync that is out); take each window's
        total from the answer."""
        async with self._one_at_a_time:
            await self._sync()

    async def _sync(self) -> None:
        self._forget_ended()
        batch = [(key, w) for key, w in self.windows.items() if w.unsent]
        if not batch:
            return
        for _, window in batch:
            window.sending, window.unsent = window.unsent, 0
        # A window's TTL from now: the key outlives no window, whenever it is created.
        now = self.clock.monotonic()
        totals = None
        try:
            totals = await self.redis.add_many(
                [(key, w.sending, max(w.ends_at - now, 0.0)) for key, w in batch]
            )
        finally:
            for index, (_, window) in enumerate(batch):
                if totals is None:  # kept for the next sync, which the next count brings
                    window.unsent += window.sending
                else:
                    window.total = totals[index]
                window.sending = 0

    async def close(self) -> None:
        """Stop syncing, sending what is left once."""
        await stop(self._task)
        self._task = None
        await self.sync()

    def _forget_ended(self) -> None:
        now = self.clock.monotonic()
        for key in [key for key, w in self.windows.items() if w.ends_at <= now]:
            del self.windows[key]

    async def _sync_forever(self) -> None:
        while True:
            await self._due.wait()
            self._due.clear()
            await self.sync()
            await asyncio.sleep(self.interval_s)  # a batching period, not a wait
