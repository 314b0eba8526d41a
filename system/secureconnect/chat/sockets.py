"""The life of one `/ws` connection: open, serve, close.

Opening registers the socket with the hub (so events reach it), finds the
user's contacts (who hears about their presence) and marks them online;
serving runs the writer and the frame reader until either ends or the
connection is dropped; closing sends the close code chosen by the server,
unregisters and updates presence. The reader is the route's (it parses).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Coroutine
from typing import Any

from starlette.websockets import WebSocket

from secureconnect.chat.events import encode
from secureconnect.chat.hub import (
    CLOSE_GOING_AWAY,
    CLOSE_IDLE_TIMEOUT,
    CLOSE_NORMAL,
    CLOSE_SLOW_CONSUMER,
    CLOSE_UNAUTHORIZED,
    Connection,
    ConnectionHub,
    Frame,
    close_quietly,
    write_loop,
)
from secureconnect.chat.presence import PresenceService
from secureconnect.chat.store import ConversationStore
from secureconnect.common.clock import Clock
from secureconnect.common.errors import DomainError
from secureconnect.common.tokens import AccessClaims

log = logging.getLogger(__name__)

#: Sent once the socket is registered: from then on no event for the user is missed.
READY = "ready"
CLOSE_REASONS = {
    CLOSE_NORMAL: "normal",
    CLOSE_GOING_AWAY: "server_shutdown",
    CLOSE_IDLE_TIMEOUT: "idle_timeout",
    CLOSE_SLOW_CONSUMER: "slow_consumer",
    CLOSE_UNAUTHORIZED: "token_expired",
}


class SocketService:
    def __init__(
        self,
        hub: ConnectionHub,
        presence: PresenceService,
        conversations: ConversationStore,
        clock: Clock,
        instance_id: str,
    ) -> None:
        self.hub = hub
        self.presence = presence
        self.conversations = conversations
        self.clock = clock
        self.instance_id = instance_id

    async def open(self, claims: AccessClaims) -> Connection:
        user_id = uuid.UUID(claims.sub)
        connection = Connection(user_id, float(claims.exp), self.clock.monotonic())
        try:
            connection.contacts = frozenset(await self.conversations.contacts(user_id))
        except DomainError as exc:  # presence events are lost, the socket is not
            log.warning("contacts unavailable", extra={"error": exc.message})
        self.hub.add(connection)
        await self.presence.connected(user_id, set(connection.contacts))
        ready = {"user_id": str(user_id), "instance_id": self.instance_id}
        connection.offer(Frame(encode(READY, ready), self.clock.now(), "local"))
        return connection

    async def serve(
        self, websocket: WebSocket, connection: Connection, reader: Coroutine[Any, Any, None]
    ) -> str:
        """Run until the client leaves or the server drops it; returns why it ended."""
        service = self.hub.service
        tasks = {
            asyncio.create_task(write_loop(connection, websocket, self.clock, service)),
            asyncio.create_task(reader),
            asyncio.create_task(connection.dropped.wait()),
        }
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if connection.close_with is None:
            return "client_closed"
        code, reason = connection.close_with
        await close_quietly(websocket, code, reason)
        return CLOSE_REASONS.get(code, "invalid_frame")

    async def close(self, connection: Connection, reason: str) -> None:
        if self.hub.remove(connection, reason):
            with contextlib.suppress(DomainError):
                await self.presence.disconnected(connection.user_id, set(connection.contacts))
