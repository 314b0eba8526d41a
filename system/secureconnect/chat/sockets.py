"""The life of one `/ws` connection: open, serve, close.

Opening registers the socket with the hub (so events reach it), finds the
user's contacts (who hears about their presence) and marks them online;
serving runs the writer and the frame reader until either ends or the
connection is dropped; closing sends the close code chosen by the server,
unregisters and updates presence. The reader is the route's (it parses).

A socket is closed (CLOSE_UNAUTHORIZED) as soon as its session or access token is
revoked: auth publishes `session.revoked` on the event bus, which reaches every
instance (over Redis, or chat's internal route while Redis is away). Should that
event be lost, every REVOCATION_RECHECK_S each open socket's token is looked up in
the revocation list itself, so none outlives its revocation by more than that.
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
    REVOKED_REASON,
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
from secureconnect.common.tokens import AccessClaims, RevocationList

log = logging.getLogger(__name__)

#: Sent once the socket is registered: from then on no event for the user is missed.
READY = "ready"
#: Backstop for a lost `session.revoked` event: how often open sockets' tokens are
#: looked up in the revocation list.
REVOCATION_RECHECK_S = 30.0
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
        revocations: RevocationList,
        clock: Clock,
        instance_id: str,
    ) -> None:
        self.hub = hub
        self.presence = presence
        self.conversations = conversations
        self.revocations = revocations
        self.clock = clock
        self.instance_id = instance_id
        self._rechecker: asyncio.Task[None] | None = None

    def on_revoked(self, data: dict[str, Any]) -> None:
        """Bus observer of `session.revoked`: close this instance's sockets of it."""
        try:
            user_id = uuid.UUID(str(data["user_id"]))
            session_id = str(data.get("session_id") or "")
            token_ids = [str(t) for t in data.get("token_ids") or []]
        except (KeyError, ValueError, TypeError) as exc:
            log.warning("malformed session.revoked event", extra={"error": repr(exc)})
            return
        closed = self.hub.revoke(user_id, session_id, token_ids)
        if closed:
            log.info("sockets of a revoked session closed", extra={"sockets": closed})

    async def recheck_revocations(self) -> int:
        """Close every socket whose token or session is in the revocation list."""
        closed = 0
        for connection in self.hub.connections():
            ids = [i for i in (connection.token_id, connection.session_id) if i]
            if ids and await self.revocations.is_revoked(*ids):
                connection.drop(CLOSE_UNAUTHORIZED, REVOKED_REASON)
                closed += 1
        return closed

    def start(self) -> None:
        self._rechecker = asyncio.create_task(self._recheck_forever(), name="ws-revocations")

    async def stop(self) -> None:
        if self._rechecker is not None:
            self._rechecker.cancel()
            await asyncio.gather(self._rechecker, return_exceptions=True)

    async def _recheck_forever(self) -> None:
        while True:
            await asyncio.sleep(REVOCATION_RECHECK_S)  # a period, not a wait for a condition
            try:
                await self.recheck_revocations()
            except DomainError as exc:  # the revocation list unreachable: next round
                log.warning("revocation recheck failed", extra={"error": exc.message})

    async def open(self, claims: AccessClaims) -> Connection:
        user_id = uuid.UUID(claims.sub)
        connection = Connection(user_id, float(claims.exp), self.clock.monotonic())
        connection.session_id, connection.token_id = claims.sid, claims.jti
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
        if reason == REVOKED_REASON:
            return "token_revoked"
        return CLOSE_REASONS.get(code, "invalid_frame")

    async def close(self, connection: Connection, reason: str) -> None:
        if self.hub.remove(connection, reason):
            with contextlib.suppress(DomainError):
                await self.presence.disconnected(connection.user_id, set(connection.contacts))
