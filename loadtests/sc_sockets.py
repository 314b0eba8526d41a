"""WebSockets for the load journeys, on websocket-client (gevent-friendly).

Locust monkey-patches the socket module with gevent, so websocket-client's
blocking `recv` yields to the other users instead of blocking the process.
Each chat listener is read by one greenlet; a message's send-to-delivery time
is reported to Locust as its own request (`WS realtime: message.new`), and a
message not delivered within DELIVERY_DEADLINE_S as a failure of it. Real-time
delivery is a journey of its own because it degrades differently from the
REST calls (a Redis cut stops fan-out across chat instances, not the API); a
failure is counted when its deadline passes, a few seconds after the send.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import gevent
import websocket
from locust.env import Environment

#: A message not seen on the recipient's socket within this time counts as lost, seconds.
DELIVERY_DEADLINE_S = 5.0
#: A client frame at least this often: chat drops a socket silent for 60 s (its
#: IDLE_TIMEOUT_S), as a real client's heartbeat avoids, seconds.
HEARTBEAT_S = 25.0
#: How often the reader wakes to expire overdue deliveries, seconds.
SWEEP_INTERVAL_S = 0.5
CONNECT_TIMEOUT_S = 10.0
#: Reconnections a listener attempts after its socket dropped, per drop.
RECONNECT_ATTEMPTS = 5
RECONNECT_BACKOFF_S = 0.5


def ws_url(base_url: str, path: str, token: str) -> str:
    base = base_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
    return f"{base.rstrip('/')}{path}?token={token}"


def report(
    environment: Environment,
    name: str,
    started: float,
    length: int = 0,
    error: BaseException | str | None = None,
) -> None:
    """Tell Locust about one WebSocket exchange; `started` is a perf_counter reading."""
    exception = Exception(error) if isinstance(error, str) else error
    environment.events.request.fire(
        request_type="WS",
        name=name,
        response_time=(time.perf_counter() - started) * 1000,
        response_length=length,
        exception=exception,
        context={},
    )


def _await_frame(connection: websocket.WebSocket, kind: str, deadline_s: float) -> bool:
    """Read until a frame of type `kind` arrives (True) or the deadline passes (False)."""
    end = time.monotonic() + deadline_s
    while (left := end - time.monotonic()) > 0:
        connection.settimeout(left)
        try:
            frame = json.loads(connection.recv())
        except (websocket.WebSocketException, OSError, ValueError):
            return False
        if isinstance(frame, dict) and frame.get("type") == kind:
            return True
    return False


def open_socket(
    environment: Environment, url: str, name: str, ping: bool = False
) -> websocket.WebSocket | None:
    """Connect, reporting the time until usable as request `name`; None when it failed.

    The gateway completes the client's handshake before its own to the backend,
    so a socket is only known to receive events once a ping came back (`ping`)."""
    started = time.perf_counter()
    try:
        connection = websocket.create_connection(url, timeout=CONNECT_TIMEOUT_S)
        if ping:
            connection.send(json.dumps({"type": "ping"}))
            if not _await_frame(connection, "pong", CONNECT_TIMEOUT_S):
                connection.close()
                raise websocket.WebSocketException(f"no pong within {CONNECT_TIMEOUT_S}s")
    except (websocket.WebSocketException, OSError) as exc:
        report(environment, name, started, error=exc)
        return None
    report(environment, name, started)
    return connection


class EventListener:
    """A user's `/ws` chat events, read by a greenlet that times message deliveries."""

    def __init__(self, environment: Environment, base_url: str, token: str, journey: str) -> None:
        self.environment = environment
        self.url = ws_url(base_url, "/ws", token)
        self.journey = journey
        #: client_msg_id -> perf_counter when the message was sent.
        self.pending: dict[str, float] = {}
        self.closing = False
        self.connection = open_socket(environment, self.url, f"{journey}: /ws connect", ping=True)
        self.last_sent = time.monotonic()
        self.reader = gevent.spawn(self._read)

    def expect(self, client_msg_id: str) -> None:
        self.pending[client_msg_id] = time.perf_counter()

    def forget(self, client_msg_id: str) -> None:
        self.pending.pop(client_msg_id, None)

    def close(self) -> None:
        self.closing = True
        if self.connection is not None:
            self.connection.close()
        self.reader.kill(block=False)

    def _read(self) -> None:
        while not self.closing:
            if self.connection is None and not self._reconnect():
                return
            assert self.connection is not None
            self.connection.settimeout(SWEEP_INTERVAL_S)
            try:
                raw = self.connection.recv()
            except websocket.WebSocketTimeoutException:
                raw = None
            except (websocket.WebSocketException, OSError) as exc:
                self._dropped(exc)
                continue
            if raw:
                self._delivered(raw)
            self._sweep()
            self._heartbeat()

    def _heartbeat(self) -> None:
        if self.connection is None or time.monotonic() - self.last_sent < HEARTBEAT_S:
            return
        try:
            self.connection.send(json.dumps({"type": "ping"}))
        except (websocket.WebSocketException, OSError) as exc:
            self._dropped(exc)
            return
        self.last_sent = time.monotonic()

    def _delivered(self, raw: str | bytes) -> None:
        event: dict[str, Any] = json.loads(raw)
        if event.get("type") != "message.new":
            return
        started = self.pending.pop(str(event.get("data", {}).get("client_msg_id")), None)
        if started is not None:
            report(self.environment, f"{self.journey}: message.new", started, len(raw))

    def _sweep(self) -> None:
        now = time.perf_counter()
        for msg_id, started in list(self.pending.items()):
            if now - started > DELIVERY_DEADLINE_S:
                del self.pending[msg_id]
                reason = f"not delivered within {DELIVERY_DEADLINE_S}s"
                report(self.environment, f"{self.journey}: message.new", started, error=reason)

    def _dropped(self, exc: BaseException) -> None:
        if self.closing:
            return
        self.connection = None
        started = time.perf_counter()
        report(self.environment, f"{self.journey}: /ws dropped", started, error=exc)

    def _reconnect(self) -> bool:
        for attempt in range(RECONNECT_ATTEMPTS):
            if self.closing:
                return False
            gevent.sleep(RECONNECT_BACKOFF_S * (attempt + 1))
            name = f"{self.journey}: /ws connect"
            self.connection = open_socket(self.environment, self.url, name, ping=True)
            if self.connection is not None:
                self.last_sent = time.monotonic()
                return True
        return False


class Signaling:
    """One participant's `/ws/calls/{id}` socket, read inline by the calling task."""

    def __init__(self, environment: Environment, base_url: str, call_id: str, token: str) -> None:
        self.environment = environment
        url = ws_url(base_url, f"/ws/calls/{call_id}", token)
        self.connection = open_socket(environment, url, "calls: /ws/calls connect")

    @property
    def open(self) -> bool:
        return self.connection is not None

    def send(self, frame: dict[str, Any]) -> None:
        assert self.connection is not None
        self.connection.send(json.dumps(frame))

    def wait_for(
        self, kind: str, deadline_s: float, accept: Callable[[dict[str, Any]], bool] | None = None
    ) -> dict[str, Any] | None:
        """The next frame of type `kind` (that `accept` likes) within the deadline, else None."""
        assert self.connection is not None
        end = time.monotonic() + deadline_s
        while (left := end - time.monotonic()) > 0:
            self.connection.settimeout(left)
            try:
                frame: dict[str, Any] = json.loads(self.connection.recv())
            except (websocket.WebSocketException, OSError, ValueError):
                return None
            if frame.get("type") == kind and (accept is None or accept(frame)):
                return frame
        return None

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
