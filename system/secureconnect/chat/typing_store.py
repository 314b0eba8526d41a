"""Typing indicators in Redis: what the chat instances share about them.

`typing-throttle:<conversation>:<user>` exists for the throttle period after a
`typing` event went out, so one instance only (SET NX) sends the next one.
`typing:<conversation>:<user>` holds the indicator's expiry (epoch seconds), or
STOPPED once it was ended explicitly, for the indicator's timeout. Both go
through the resilient Redis: while it is degraded they live in this
instance's memory and are written back when it returns.
"""

from __future__ import annotations

import uuid
from typing import Literal

from secureconnect.common.resilient_redis import ResilientRedis

#: The shared state of an indicator that was ended explicitly.
STOPPED = "stopped"

Shared = float | Literal["stopped"] | None


def throttle_key(conversation_id: uuid.UUID, user_id: uuid.UUID) -> str:
    return f"typing-throttle:{conversation_id}:{user_id}"


def state_key(conversation_id: uuid.UUID, user_id: uuid.UUID) -> str:
    return f"typing:{conversation_id}:{user_id}"


class TypingStore:
    def __init__(self, redis: ResilientRedis, timeout_s: float, throttle_s: float) -> None:
        self.redis = redis
        self.timeout_s = timeout_s
        self.throttle_s = throttle_s

    async def extend(
        self, conversation_id: uuid.UUID, user_id: uuid.UUID, expires_at: float
    ) -> None:
        """The indicator runs until `expires_at` (epoch seconds)."""
        await self.redis.set(state_key(conversation_id, user_id), repr(expires_at), self.timeout_s)

    async def claim_event(self, conversation_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        """True when no `typing` event went out within the throttle period: this caller
        sends it, and the next throttle period starts."""
        key = throttle_key(conversation_id, user_id)
        return await self.redis.set_if_absent(key, "1", self.throttle_s)

    async def stop(self, conversation_id: uuid.UUID, user_id: uuid.UUID) -> None:
        """The indicator was ended explicitly; the next signal is announced at once."""
        await self.redis.set(state_key(conversation_id, user_id), STOPPED, self.timeout_s)
        await self.redis.delete(throttle_key(conversation_id, user_id))

    async def shared(self, conversation_id: uuid.UUID, user_id: uuid.UUID) -> Shared:
        """The indicator as the instances share it: its expiry (epoch seconds), STOPPED
        when it was ended explicitly, None when nothing is shared (never, or lapsed)."""
        value = await self.redis.get(state_key(conversation_id, user_id))
        return STOPPED if value == STOPPED else None if value is None else float(value)
