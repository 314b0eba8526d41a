"""The signaling connections of this instance, and what their frames do.

One connection per participant and call (a reconnect replaces the old one,
closed with CLOSE_CONFLICT). In p2p mode offer/answer/ice frames are relayed
to the participant named in `to`, as `{"from": <sender>, ...}`; in sfu mode
they go to the participant's server-side peer connection (sfu.py). Everyone
connected hears `peer.joined` / `peer.left`.

The hub is a call listener: when someone leaves the call their connection is
closed (1000) and their SFU peer connection with it; when the call ends every
connection is closed with CLOSE_CALL_ENDED, the SFU room closed and its
recordings finished.

A connection lives no longer than the access token it was opened with: every
REVOCATION_RECHECK_S (`end_revoked_forever`) each open connection's token is
looked up in the revocation list (logout, refresh-token reuse) and its expiry
checked; either closes it with CLOSE_UNAUTHORIZED.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.websockets import WebSocket

from secureconnect.common.clock import Clock
from secureconnect.common.errors import DomainError
from secureconnect.common.tokens import AccessClaims, RevocationList
from secureconnect.video.frames import (
    CLOSE_CALL_ENDED,
    CLOSE_CONFLICT,
    CLOSE_NORMAL,
    CLOSE_UNAUTHORIZED,
    FRAMES_PER_S,
    AnswerFrame,
    ClientFrame,
    IceFrame,
    OfferFrame,
    PingFrame,
    check_sdp,
)
from secureconnect.video.metrics import SIGNALING_CONNECTIONS, SIGNALING_ERRORS
from secureconnect.video.recording import CallRecorder
from secureconnect.video.sfu import Sfu
from secureconnect.video.store import CallRecord

log = logging.getLogger(__name__)

#: Budget of one frame write to a client that may not be reading, seconds.
SEND_TIMEOUT_S = 5.0
#: Budget for the closing handshake, seconds.
CLOSE_TIMEOUT_S = 1.0
#: How often open connections' tokens are looked up in the revocation list and their
#: expiry checked, seconds: a revoked session's connection closes within this.
REVOCATION_RECHECK_S = 2.0
REVOKED_REASON = "token revoked"
EXPIRED_REASON = "access token expired"


async def close_quietly(websocket: WebSocket, code: int, reason: str) -> None:
    """Close, bounded in time; the peer may be gone or not reading."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(CLOSE_TIMEOUT_S):
            await websocket.close(code=code, reason=reason[:120])


@dataclass(eq=False)
class SignalingConnection:
    call: CallRecord
    user_id: uuid.UUID
    websocket: WebSocket
    #: The access token it was opened with: its id, its session's, its expiry (epoch s).
    token_id: str = ""
    session_id: str = ""
    token_expires_at: float = math.inf
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    closed: bool = False
    window_start: float = 0.0
    window_frames: int = 0

    async def send(self, event_type: str, data: dict[str, Any]) -> None:
        if self.closed:
            return
        text = json.dumps({"type": event_type, "data": data}, separators=(",", ":"))
        try:
            async with self.send_lock, asyncio.timeout(SEND_TIMEOUT_S):
                await self.websocket.send_text(text)
        except Exception as exc:  # gone or too slow: the read loop will notice and clean up
            log.info("signaling send failed", extra={"error": repr(exc)})
            await self.drop(CLOSE_NORMAL, "send failed")

    async def drop(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        await close_quietly(self.websocket, code, reason)

    def heard(self, now: float) -> bool:
        """Count a frame; False when the client exceeds FRAMES_PER_S."""
        if now - self.window_start >= 1.0:
            self.window_start, self.window_frames = now, 0
        self.window_frames += 1
        return self.window_frames <= FRAMES_PER_S


class SignalingHub:
    def __init__(self, sfu: Sfu, recorder: CallRecorder | None, clock: Clock, service: str):
        self.sfu = sfu
        self.recorder = recorder
        self.clock = clock
        self.service = service
        self.calls: dict[uuid.UUID, dict[uuid.UUID, SignalingConnection]] = {}

    # -- connections ---------------------------------------------------------------

    async def open(
        self, call: CallRecord, claims: AccessClaims, websocket: WebSocket
    ) -> SignalingConnection:
        user_id = uuid.UUID(claims.sub)
        connections = self.calls.setdefault(call.id, {})
        previous = connections.get(user_id)
        connection = SignalingConnection(
            call, user_id, websocket, claims.jti, claims.sid, float(claims.exp)
        )
        connections[user_id] = connection
        SIGNALING_CONNECTIONS.labels(self.service).inc()
        if previous is not None:
            await previous.drop(CLOSE_CONFLICT, "replaced by a newer connection")
        if call.mode == "sfu":
            room = self.sfu.room(call.id)
            if call.record and self.recorder is not None:
                self.recorder.attach(room)
            await room.connect(user_id, connection.send, connection.drop)
        peers = [str(u) for u in connections if u != user_id]
        ready = {"call_id": str(call.id), "mode": call.mode, "user_id": str(user_id)}
        await connection.send("ready", {**ready, "peers": peers})
        await self._tell_others(connection, "peer.joined")
        return connection

    async def close(self, connection: SignalingConnection) -> None:
        SIGNALING_CONNECTIONS.labels(self.service).dec()
        await connection.drop(CLOSE_NORMAL, "bye")
        connections = self.calls.get(connection.call.id, {})
        if connections.get(connection.user_id) is not connection:
            return  # replaced: the newer connection owns the user's SFU peer now
        del connections[connection.user_id]
        if not connections:
            self.calls.pop(connection.call.id, None)
        if connection.call.mode == "sfu":
            await self.sfu.leave(connection.call.id, connection.user_id)
        await self._tell_others(connection, "peer.left")

    def connections(self) -> list[SignalingConnection]:
        return [c for connections in self.calls.values() for c in connections.values()]

    async def end_revoked(self, revocations: RevocationList) -> int:
        """Close every connection whose token expired or was revoked; how many."""
        ended = 0
        for connection in self.connections():
            if self.clock.now() >= connection.token_expires_at:
                reason = EXPIRED_REASON
            elif await revocations.is_revoked(connection.token_id, connection.session_id):
                reason = REVOKED_REASON
            else:
                continue
            await connection.drop(CLOSE_UNAUTHORIZED, reason)
            ended += 1
        return ended

    async def end_revoked_forever(self, revocations: RevocationList) -> None:
        while True:
            await asyncio.sleep(REVOCATION_RECHECK_S)  # a period, not a wait for a condition
            try:
                ended = await self.end_revoked(revocations)
            except DomainError as exc:  # the revocation list cannot answer: next round
                log.warning("signaling revocation recheck failed", extra={"error": exc.message})
                continue
            if ended:
                log.info("signaling connections of revoked tokens closed", extra={"ended": ended})

    async def _tell_others(self, connection: SignalingConnection, event_type: str) -> None:
        for user_id, other in list(self.calls.get(connection.call.id, {}).items()):
            if user_id != connection.user_id:
                await other.send(event_type, {"user_id": str(connection.user_id)})

    # -- frames --------------------------------------------------------------------

    async def handle(self, connection: SignalingConnection, frame: ClientFrame) -> None:
        try:
            if isinstance(frame, PingFrame):
                await connection.send("pong", {})
            elif connection.call.mode == "sfu":
                await self._to_sfu(connection, frame)
            else:
                await self._relay(connection, frame)
        except DomainError as exc:
            SIGNALING_ERRORS.labels(self.service, exc.code).inc()
            error = {"code": exc.code, "message": exc.message, "frame": frame.type}
            await connection.send("error", error)

    async def _to_sfu(self, connection: SignalingConnection, frame: ClientFrame) -> None:
        room = self.sfu.room(connection.call.id)
        if isinstance(frame, OfferFrame):
            await room.offer(connection.user_id, frame.sdp)
        elif isinstance(frame, AnswerFrame):
            await room.answer(connection.user_id, frame.sdp)
        elif isinstance(frame, IceFrame):
            await room.ice(connection.user_id, frame.candidate)

    async def _relay(self, connection: SignalingConnection, frame: ClientFrame) -> None:
        assert isinstance(frame, OfferFrame | AnswerFrame | IceFrame)
        if frame.to is None:
            raise DomainError(400, "missing_recipient", "p2p frames name their recipient in 'to'")
        target = self.calls.get(connection.call.id, {}).get(frame.to)
        if target is None or target.closed:
            raise DomainError(409, "peer_not_connected", "that participant is not connected")
        data: dict[str, Any] = {"from": str(connection.user_id)}
        if isinstance(frame, IceFrame):
            data["candidate"] = None if frame.candidate is None else frame.candidate.model_dump()
        else:
            check_sdp(frame.sdp)
            data["sdp"] = frame.sdp
        await target.send(frame.type, data)

    # -- the calls' fate -------------------------------------------------------------

    async def call_changed(self, before: CallRecord, after: CallRecord) -> None:
        connections = self.calls.get(after.id, {})
        if after.state == "ended":
            for connection in list(connections.values()):
                await connection.drop(CLOSE_CALL_ENDED, "the call has ended")
            await self.sfu.close_room(after.id)
        else:
            for user_id in set(before.joined) - set(after.joined):
                leaving = connections.get(user_id)
                if leaving is not None:
                    await leaving.drop(CLOSE_NORMAL, "you left the call")
                await self.sfu.leave(after.id, user_id)
        if self.recorder is not None:
            await self.recorder.call_changed(before, after)

    async def close_all(self) -> None:
        for connections in list(self.calls.values()):
            for connection in list(connections.values()):
                await connection.drop(CLOSE_CALL_ENDED, "the service is stopping")
        await self.sfu.close()
        if self.recorder is not None:
            await self.recorder.close()
