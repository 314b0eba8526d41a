"""Typing indicators.

Policy:
- A typing signal (POST /conversations/{id}/typing, or the WebSocket frame
  `{"type": "typing", "conversation_id": ...}`) makes the user "typing" in
  that conversation for TYPING_TIMEOUT_S; every further signal extends it.
- Signals are throttled per user and conversation: at most one `typing`
  event per TYPING_THROTTLE_S, across instances (Redis SET NX, in memory
  while Redis is degraded). Clients may signal on every keystroke.
- The event carries `expires_at`, so clients expire it themselves; the
  server also sends `typing: false` once the timeout passes without a
  signal (from the instance that took the last signal), and at once when
  the user sends a message or signals `typing: false` (from whichever
  instance sees that: the indicator's state is shared in Redis).
The tracker is pure and reads the injected clock; the sweep runs every
TYPING_SWEEP_S. What instances share (the throttle, each indicator's state) is
kept by typing_store.py.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from secureconnect.chat.events import TYPING
from secureconnect.chat.fanout import EventBus
from secureconnect.chat.typing_store import STOPPED, TypingStore
from secureconnect.common.clock import Clock

TYPING_TIMEOUT_S = 5.0
TYPING_THROTTLE_S = 2.0
TYPING_SWEEP_S = 0.5

Key = tuple[uuid.UUID, uuid.UUID]  # (conversation, user)


@dataclass
class _Typing:
    expires_at: float  # wall clock, seconds
    members: frozenset[uuid.UUID]


class TypingTracker:
    """Who is typing where, until when. No I/O."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._typing: dict[Key, _Typing] = {}

    def start(self, conversation_id: uuid.UUID, user_id: uuid.UUID, members: Iterable[uuid.UUID]):
        """Mark typing (again); returns the new expiry (epoch seconds)."""
        expires_at = self.clock.now() + TYPING_TIMEOUT_S
        self._typing[(conversation_id, user_id)] = _Typing(expires_at, frozenset(members))
        return expires_at

    def stop(self, conversation_id: uuid.UUID, user_id: uuid.UUID) -> frozenset[uuid.UUID] | None:
        """Forget it; the members to tell, or None when the user was not typing."""
        entry = self._typing.pop((conversation_id, user_id), None)
        return None if entry is None else entry.members

    def expire(self) -> list[tuple[Key, frozenset[uuid.UUID]]]:
        """Remove and return the indicators whose time is up."""
        now = self.clock.now()
        due = [(key, entry) for key, entry in self._typing.items() if entry.expires_at <= now]
        for key, _ in due:
            del self._typing[key]
        return [(key, entry.members) for key, entry in due]

    def resume(
        self,
        conversation_id: uuid.UUID,
        user_id: uuid.UUID,
        members: frozenset[uuid.UUID],
        expires_at: float,
    ) -> None:
        """Track again until `expires_at` (another instance extended it)."""
        self._typing[(conversation_id, user_id)] = _Typing(expires_at, members)

    def is_typing(self, conversation_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        entry = self._typing.get((conversation_id, user_id))
        return entry is not None and entry.expires_at > self.clock.now()


def _event(conversation_id: uuid.UUID, user_id: uuid.UUID, expires_at: float | None) -> dict:
    return {
        "conversation_id": str(conversation_id),
        "user_id": str(user_id),
        "typing": expires_at is not None,
        "expires_at": None
        if expires_at is None
        else datetime.fromtimestamp(expires_at, UTC).isoformat(),
    }


class TypingService:
    """The tracker plus what instances share (the store): the throttle, and
    each indicator's state (its expiry, or STOPPED), so that whichever
    instance sees the message or the stop ends an indicator another started."""

    def __init__(self, store: TypingStore, bus: EventBus, clock: Clock) -> None:
        self.store = store
        self.bus = bus
        self.clock = clock
        self.tracker = TypingTracker(clock)
        #: Indicators announced by any instance (seen on the bus) → their expiry:
        #: a message ends one only if it may exist, so most sends skip Redis.
        self.announced: dict[Key, float] = {}
        self._sweeper: asyncio.Task[None] | None = None
        bus.observe(TYPING, self._seen)

    def _seen(self, event: dict) -> None:
        key = (uuid.UUID(event["conversation_id"]), uuid.UUID(event["user_id"]))
        if event["typing"] and event["expires_at"]:
            self.announced[key] = datetime.fromisoformat(event["expires_at"]).timestamp()
        else:
            self.announced.pop(key, None)

    def may_be_typing(self, conversation_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        expires_at = self.announced.get((conversation_id, user_id))
        if expires_at is not None and expires_at <= self.clock.now():
            del self.announced[(conversation_id, user_id)]
            return False
        return expires_at is not None

    async def started(
        self, conversation_id: uuid.UUID, user_id: uuid.UUID, members: Iterable[uuid.UUID]
    ) -> bool:
        """A typing signal; True when it was broadcast (not throttled)."""
        members = frozenset(members)
        expires_at = self.tracker.start(conversation_id, user_id, members)
        await self.store.extend(conversation_id, user_id, expires_at)
        if not await self.store.claim_event(conversation_id, user_id):
            return False
        self.bus.publish(TYPING, _event(conversation_id, user_id, expires_at), members - {user_id})
        return True

    async def stopped(
        self, conversation_id: uuid.UUID, user_id: uuid.UUID, members: Iterable[uuid.UUID]
    ) -> None:
        """The user stopped (or sent a message): tell the others now, if they were told."""
        tracked = self.tracker.stop(conversation_id, user_id) is not None
        if not tracked and not self.may_be_typing(conversation_id, user_id):
            return
        current = await self.store.shared(conversation_id, user_id)
        if not tracked and (current is None or current == STOPPED):
            return
        await self.store.stop(conversation_id, user_id)
        recipients = frozenset(members) - {user_id}
        self.bus.publish(TYPING, _event(conversation_id, user_id, None), recipients)

    async def sweep(self) -> int:
        """End the indicators whose time is up here; how many ended."""
        now = self.clock.now()
        for key in [k for k, expires_at in self.announced.items() if expires_at <= now]:
            del self.announced[key]
        ended = 0
        for (conversation_id, user_id), members in self.tracker.expire():
            current = await self.store.shared(conversation_id, user_id)
            if current == STOPPED:  # another instance already said so
                continue
            if isinstance(current, float) and current > self.clock.now():  # renewed elsewhere
                self.tracker.resume(conversation_id, user_id, members, current)
                continue
            self.bus.publish(TYPING, _event(conversation_id, user_id, None), members - {user_id})
            ended += 1
        return ended

    def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="typing-sweeper")

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(TYPING_SWEEP_S)  # a period, not a wait for a condition
            await self.sweep()

    def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
