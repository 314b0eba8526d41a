"""This instance's WebSocket connections: bounded send queues, heartbeats, drops.

Policy:
- Each connection has its own queue of at most SEND_QUEUE_LIMIT frames and
  one writer task. Delivery only enqueues, so one slow client never stalls
  delivery to the others; when a client's queue is full, or one write takes
  longer than SEND_TIMEOUT_S, the client is too slow and is dropped with
  CLOSE_SLOW_CONSUMER (it reconnects and catches up from history).
- A client sends a frame (`{"type": "ping"}` will do) at least every
  IDLE_TIMEOUT_S, or it is closed with CLOSE_IDLE_TIMEOUT. Dead TCP peers
  are found sooner by the server's protocol-level pings (uvicorn).
- A connection lives no longer than its access token: at expiry it is
  closed with CLOSE_UNAUTHORIZED and the client reconnects with a fresh one.
  So does one whose token or session is revoked (logout, refresh-token reuse):
  sockets.py closes it when the bus says so, on every instance.
The sweep that enforces the last two runs every SWEEP_INTERVAL_S and reads
the injected clock, so tests move time instead of waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from starlette.websockets import WebSocket

from secureconnect.chat.metrics import FANOUT_LATENCY, WEBSOCKET_CLOSES, WEBSOCKET_CONNECTIONS
from secureconnect.common.clock import Clock

log = logging.getLogger(__name__)

SEND_QUEUE_LIMIT = 256
SEND_TIMEOUT_S = 5.0
IDLE_TIMEOUT_S = 60.0
#: Frames a client may send per second before it is closed for flooding.
CLIENT_FRAMES_PER_S = 20
SWEEP_INTERVAL_S = 1.0
#: Budget for the closing handshake with a client that may not be reading.
CLOSE_TIMEOUT_S = 1.0

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_INVALID_PAYLOAD = 1007
CLOSE_POLICY_VIOLATION = 1008
CLOSE_TOO_BIG = 1009
#: Application close codes (4000-4999), named after their HTTP cousins.
CLOSE_UNAUTHORIZED = 4401
CLOSE_IDLE_TIMEOUT = 4408
CLOSE_SLOW_CONSUMER = 4429
#: The reason a socket closed by revocation is given (with CLOSE_UNAUTHORIZED).
REVOKED_REASON = "token revoked"


@dataclass(frozen=True)
class Frame:
    text: str
    created_at: float  # wall clock, seconds: when the event was created
    path: str  # "local" or "remote", for the fan-out latency metric


@dataclass(eq=False)
class Connection:
    user_id: uuid.UUID
    token_expires_at: float
    last_heard: float
    queue: asyncio.Queue[Frame] = field(
        default_factory=lambda: asyncio.Queue(maxsize=SEND_QUEUE_LIMIT)
    )
    #: (code, reason) once the server decided to end the connection.
    close_with: tuple[int, str] | None = None
    dropped: asyncio.Event = field(default_factory=asyncio.Event)
    #: Who learns of this user's presence (computed when the socket opens).
    contacts: frozenset[uuid.UUID] = frozenset()
    #: The login session (`sid`) and access token (`jti`) it was opened with.
    session_id: str = ""
    token_id: str = ""
    _window_start: float = 0.0
    _frames_in_window: int = 0

    def heard(self, monotonic: float) -> bool:
        """Count a client frame; False when the client exceeds CLIENT_FRAMES_PER_S."""
        self.last_heard = monotonic
        if monotonic - self._window_start >= 1.0:
            self._window_start, self._frames_in_window = monotonic, 0
        self._frames_in_window += 1
        return self._frames_in_window <= CLIENT_FRAMES_PER_S

    def offer(self, frame: Frame) -> bool:
        if self.close_with is not None:
            return False
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.drop(CLOSE_SLOW_CONSUMER, "client too slow: send queue full")
            return False
        return True

    def drop(self, code: int, reason: str) -> None:
        if self.close_with is None:
            self.close_with = (code, reason)
            self.dropped.set()


async def write_loop(connection: Connection, websocket: WebSocket, clock: Clock, service: str):
    """Send queued frames in order until the connection is dropped or the send fails."""
    while True:
        frame = await connection.queue.get()
        try:
            async with asyncio.timeout(SEND_TIMEOUT_S):
                await websocket.send_text(frame.text)
        except TimeoutError:
            connection.drop(CLOSE_SLOW_CONSUMER, "client too slow: write timed out")
            return
        FANOUT_LATENCY.labels(service, frame.path).observe(max(0.0, clock.now() - frame.created_at))


async def close_quietly(websocket: WebSocket, code: int, reason: str) -> None:
    """Close, bounded in time; the peer may be gone or not reading."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(CLOSE_TIMEOUT_S):
            await websocket.close(code=code, reason=reason[:120])


class ConnectionHub:
    def __init__(self, clock: Clock, service: str) -> None:
        self.clock = clock
        self.service = service
        self._by_user: dict[uuid.UUID, set[Connection]] = {}
        self._sweeper: asyncio.Task[None] | None = None

    def add(self, connection: Connection) -> bool:
        """Register; True when it is the user's first connection on this instance."""
        sockets = self._by_user.setdefault(connection.user_id, set())
        sockets.add(connection)
        WEBSOCKET_CONNECTIONS.labels(self.service).inc()
        return len(sockets) == 1

    def remove(self, connection: Connection, reason: str) -> bool:
        """Unregister; True when it was the user's last connection on this instance."""
        sockets = self._by_user.get(connection.user_id)
        if sockets is None or connection not in sockets:
            return False
        sockets.discard(connection)
        WEBSOCKET_CONNECTIONS.labels(self.service).dec()
        WEBSOCKET_CLOSES.labels(self.service, reason).inc()
        if sockets:
            return False
        del self._by_user[connection.user_id]
        return True

    def users(self) -> list[uuid.UUID]:
        return list(self._by_user)

    def connections(self) -> list[Connection]:
        return [c for sockets in self._by_user.values() for c in sockets]

    def deliver(self, recipients: Iterable[uuid.UUID], frame: Frame) -> int:
        """Queue the frame for every socket of the recipients here; how many took it."""
        delivered = 0
        for user_id in recipients:
            for connection in tuple(self._by_user.get(user_id, ())):
                delivered += connection.offer(frame)
        return delivered

    def revoke(self, user_id: uuid.UUID, session_id: str, token_ids: Iterable[str]) -> int:
        """Drop the user's sockets opened with that session or one of those tokens."""
        tokens = set(token_ids)
        revoked = [
            c
            for c in tuple(self._by_user.get(user_id, ()))
            if c.session_id == session_id or c.token_id in tokens
        ]
        for connection in revoked:
            connection.drop(CLOSE_UNAUTHORIZED, REVOKED_REASON)
        return len(revoked)

    def sweep(self) -> None:
        """Drop idle connections and those whose token has expired."""
        monotonic, now = self.clock.monotonic(), self.clock.now()
        for connection in self.connections():
            if now >= connection.token_expires_at:
                connection.drop(CLOSE_UNAUTHORIZED, "access token expired")
            elif monotonic - connection.last_heard > IDLE_TIMEOUT_S:
                connection.drop(CLOSE_IDLE_TIMEOUT, f"no frame for {IDLE_TIMEOUT_S:g}s")

    def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="ws-sweeper")

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL_S)  # a period, not a wait for a condition
            self.sweep()

    def stop(self) -> None:
        """Ask every connection to end (server shutdown); their handlers close them."""
        if self._sweeper is not None:
            self._sweeper.cancel()
        for connection in self.connections():
            connection.drop(CLOSE_GOING_AWAY, "server shutting down")
