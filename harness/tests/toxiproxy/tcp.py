"""Small TCP servers and client helpers for the fault-injection tests.

The upstreams run in threads with blocking sockets: they must behave like
ordinary servers (echo, send-and-close, send-and-wait) and never share the
event loop under test. Every client call is bounded by a socket timeout.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable

IO_TIMEOUT_S = 5.0

Handler = Callable[[socket.socket], None]


class TcpServer:
    """A threaded TCP server on 127.0.0.1 running ``handler`` per connection."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.listener = socket.create_server(("127.0.0.1", 0))
        host, port = self.listener.getsockname()[:2]
        self.address: tuple[str, int] = (host, port)
        self.upstream = f"{host}:{port}"
        self.connections: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return  # the listener was shut down
            self.connections.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        # The proxy under test closes and resets these sockets on purpose.
        with conn, contextlib.suppress(OSError):
            self.handler(conn)

    def close(self) -> None:
        # shutdown() wakes the threads blocked in accept() and recv().
        for sock in [self.listener, *self.connections]:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for thread in [self._accepting, *self._threads]:
            thread.join(timeout=IO_TIMEOUT_S)


def echo(conn: socket.socket) -> None:
    while data := conn.recv(65536):
        conn.sendall(data)


def send_then_close(payload: bytes) -> Handler:
    def handler(conn: socket.socket) -> None:
        conn.sendall(payload)

    return handler


def send_then_wait(payload: bytes) -> Handler:
    """Send, then keep the socket open until the peer closes it."""

    def handler(conn: socket.socket) -> None:
        conn.sendall(payload)
        while conn.recv(65536):
            pass

    return handler


def connect(address: tuple[str, int], timeout_s: float = IO_TIMEOUT_S) -> socket.socket:
    sock = socket.create_connection(address, timeout=timeout_s)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        part = sock.recv(size - len(data))
        if not part:
            raise EOFError(f"connection closed after {len(data)} of {size} bytes")
        data += part
    return bytes(data)


def recv_all(sock: socket.socket) -> bytes:
    """Everything until EOF (bounded by the socket's timeout per read)."""
    data = bytearray()
    while part := sock.recv(65536):
        data += part
    return bytes(data)


def round_trip(sock: socket.socket, payload: bytes = b"ping") -> float:
    """Seconds for ``payload`` to come back through an echo upstream."""
    started = time.perf_counter()
    sock.sendall(payload)
    assert recv_exactly(sock, len(payload)) == payload
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
