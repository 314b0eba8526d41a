"""The in-process fallback behind Redis: a bounded key-value store with TTLs.

It mirrors what this process writes while Redis is healthy (so reads keep
working in an outage), serves everything while Redis is degraded, and
remembers which keys changed during the outage so they can be written back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from secureconnect.common.clock import SYSTEM_CLOCK, Clock

#: Entries kept before the oldest are dropped; bounds memory in a long outage.
MAX_ENTRIES = 200_000


@dataclass
class _Entry:
    value: str
    expires_at: float | None  # monotonic seconds


@dataclass
class MemoryStore:
    clock: Clock = SYSTEM_CLOCK
    max_entries: int = MAX_ENTRIES
    _entries: dict[str, _Entry] = field(default_factory=dict)
    #: Keys set / deleted while Redis was unreachable, awaiting write-back.
    pending_sets: set[str] = field(default_factory=set)
    pending_deletes: set[str] = field(default_factory=set)

    def get(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires_at is not None and entry.expires_at <= self.clock.monotonic():
            del self._entries[key]
            return None
        return entry.value

    def set(self, key: str, value: str, ttl_s: float | None, *, pending: bool = False) -> None:
        expires_at = None if ttl_s is None else self.clock.monotonic() + ttl_s
        self._entries.pop(key, None)  # re-insert: dict order is age order for eviction
        self._entries[key] = _Entry(value, expires_at)
        if pending:
            self.pending_sets.add(key)
            self.pending_deletes.discard(key)
        self._evict_if_full()

    def delete(self, key: str, *, pending: bool = False) -> None:
        self._entries.pop(key, None)
        if pending:
            self.pending_deletes.add(key)
            self.pending_sets.discard(key)

    def incr(self, key: str, ttl_s: float) -> int:
        """Increment a counter; the TTL starts with the first increment (like EXPIRE NX)."""
        current = self.get(key)
        if current is None:
            self.set(key, "1", ttl_s)
            return 1
        entry = self._entries[key]
        entry.value = str(int(entry.value) + 1)
        return int(entry.value)

    def ttl(self, key: str) -> float | None:
        """Remaining seconds, None when absent or without expiry."""
        entry = self._entries.get(key)
        if entry is None or entry.expires_at is None:
            return None
        return entry.expires_at - self.clock.monotonic()

    def snapshot(self) -> list[tuple[str, str, float | None]]:
        """(key, value, remaining ttl_s) of every live entry."""
        now = self.clock.monotonic()
        return [
            (key, e.value, None if e.expires_at is None else e.expires_at - now)
            for key, e in self._entries.items()
            if e.expires_at is None or e.expires_at > now
        ]

    def __len__(self) -> int:
        return len(self._entries)

    def _evict_if_full(self) -> None:
        if len(self._entries) <= self.max_entries:
            return
        now = self.clock.monotonic()
        for key in [k for k, e in self._entries.items() if e.expires_at and e.expires_at <= now]:
            del self._entries[key]
        while len(self._entries) > self.max_entries:
            oldest = next(iter(self._entries))
            if oldest in self.pending_sets:
                self.pending_sets.discard(oldest)
            del self._entries[oldest]
