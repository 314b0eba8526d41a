"""The gateway's upstream HTTP/1.1 client: a lean keep-alive connection pool.

Why not httpx on the proxy's hot path: building an `httpx.Request` (URL
parsing, header normalisation), `AsyncClient.send` (auth and redirect flows,
cookie extraction) and the `httpx.Response` around the answer cost more CPU per
proxied request than everything else the gateway does together (measured:
benchmarks/README.md). A proxy needs none of it: the target is already raw
bytes, the headers are the client's, and the answer goes back as it came. So
this pool speaks HTTP/1.1 itself (asyncio streams and the httptools C parser
that uvicorn already uses) on `UpstreamRequest`s of bytes, and answers with
`UpstreamResponse`s of bytes. Its errors are httpx's exception classes
(`httpx.ReadTimeout`, `httpx.ConnectError`, ...): the gateway's probes use
httpx, and one taxonomy of transport failures serves both.

Bodies stream in both directions: a request body given as an async iterable
is written chunk by chunk (each write drained before the next is read: the
client's pace is the upstream's), and a response body over WHOLE_BODY_BYTES
is read from the socket only as the caller iterates it, so memory stays at a
few chunks whatever the size. The connection (and its pool slot) is held
until the response body is read to the end or closed.

It honours four timeouts (pool, connect, write, read: the read timeout bounds
the wait for the response head, then each read of the body). Idle connections
are kept per origin and dropped after `keepalive_expiry_s`; a reused
connection that the server closed before answering is retried once on a
fresh one, so a request whose body cannot be replayed (streamed) always gets
a fresh connection.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import defaultdict
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import urlsplit

import httptools
import httpx

READ_CHUNK_BYTES = 64 * 1024
#: A response body up to this size (by its Content-Length) is read with the head.
WHOLE_BODY_BYTES = 64 * 1024
#: Methods whose empty body is still announced (Content-Length: 0), as clients do.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


@dataclass(frozen=True)
class Origin:
    """Where an upstream lives, parsed once: `scheme://host:port`."""

    scheme: str
    host: str
    port: int

    @classmethod
    def parse(cls, url: str) -> Origin:
        """`url`'s origin (the settings have checked it is one)."""
        parts = urlsplit(url)
        return cls(parts.scheme, parts.hostname or "", parts.port or _default_port(parts.scheme))

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @cached_property
    def host_header(self) -> bytes:
        """The Host header's value (computed once: it goes into every request head)."""
        return self.url.partition("://")[2].encode("ascii")


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


@dataclass(frozen=True)
class Timeouts:
    """Seconds; None is no limit."""

    connect: float | None
    read: float | None
    write: float | None
    pool: float | None


@dataclass(frozen=True)
class UpstreamRequest:
    method: str
    #: Path and query exactly as the client sent them.
    target: bytes
    #: End-to-end headers (lowercase names); Host and the body's framing are the pool's.
    headers: list[tuple[bytes, bytes]]
    #: The whole body, or its chunks as the client sends them.
    body: bytes | AsyncIterable[bytes] = b""
    #: A streamed body's length when the client declared it (else it is sent chunked).
    length: int | None = None


@dataclass(frozen=True)
class UpstreamResponse:
    status: int
    #: As received (the upstream's case), framing headers included.
    headers: list[tuple[bytes, bytes]]
    #: The whole body when it came with the head (most API answers), else the body as the
    #: upstream sends it (the connection goes back when the iteration ends or is closed).
    body: bytes | UpstreamBody


class _Connection:
    def __init__(
        self, origin: Origin, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.origin = origin
        self.reader = reader
        self.writer = writer
        self.idle_since = time.monotonic()

    def close(self) -> None:
        self.writer.close()


class _ResponseReader:
    """httptools callbacks collecting one response; body pieces are taken as they come."""

    def __init__(self, head_only: bool) -> None:
        self.head_only = head_only
        self.headers: list[tuple[bytes, bytes]] = []
        self.pieces: list[bytes] = []
        self.head_complete = False
        self.complete = False
        self.length: int | None = None
        self.keep_alive = False
        self.parser = httptools.HttpResponseParser(self)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))
        if name.lower() == b"content-length" and value.strip().isdigit():
            self.length = int(value)

    @property
    def answered(self) -> bool:
        """The head is in, and so is the body when it is small (it is read whole)."""
        small = self.length is not None and self.length <= WHOLE_BODY_BYTES
        return self.complete or (self.head_complete and not small)

    def on_headers_complete(self) -> None:
        # Only meaningful while parsing: llhttp resets its state at message end.
        self.keep_alive = self.parser.should_keep_alive()
        self.head_complete = True
        if self.head_only:
            self.complete = True

    def on_body(self, body: bytes) -> None:
        self.pieces.append(body)

    def on_message_complete(self) -> None:
        self.complete = True

    def take(self) -> list[bytes]:
        pieces, self.pieces = self.pieces, []
        return pieces


class _ClosedBeforeAnswer(Exception):
    pass


class KeepAlivePool:
    def __init__(self, max_connections: int, keepalive_expiry_s: float, timeouts: Timeouts) -> None:
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: dict[Origin, list[_Connection]] = defaultdict(list)
        self._keepalive_expiry_s = keepalive_expiry_s
        self.timeouts = timeouts

    async def exchange(self, origin: Origin, request: UpstreamRequest) -> UpstreamResponse:
        """Send `request` to `origin` and read the answer's head (and a small body)."""
        try:
            async with asyncio.timeout(self.timeouts.pool):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise httpx.PoolTimeout("no free upstream connection") from exc
        try:
            return await self._answer(origin, request)
        except BaseException:
            self._slots.release()
            raise

    async def aclose(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    async def _answer(self, origin: Origin, request: UpstreamRequest) -> UpstreamResponse:
        replayable = isinstance(request.body, bytes)
        connection, reused = await self._checkout(origin, replayable)
        try:
            return await self._exchange(connection, request)
        except _ClosedBeforeAnswer:
            if not reused:
                raise httpx.RemoteProtocolError("server closed the connection") from None
        connection = await self._connect(origin)
        try:
            return await self._exchange(connection, request)
        except _ClosedBeforeAnswer as exc:
            raise httpx.RemoteProtocolError("server closed the connection") from exc

    async def _checkout(self, origin: Origin, reuse: bool) -> tuple[_Connection, bool]:
        idle = self._idle[origin]
        while reuse and idle:
            connection = idle.pop()
            fresh = time.monotonic() - connection.idle_since < self._keepalive_expiry_s
            if fresh and not connection.reader.at_eof():
                return connection, True
            connection.close()
        return await self._connect(origin), False

    async def _connect(self, origin: Origin) -> _Connection:
        context = ssl.create_default_context() if origin.scheme == "https" else None
        where = f"{origin.host}:{origin.port}"
        try:
            async with asyncio.timeout(self.timeouts.connect):
                reader, writer = await asyncio.open_connection(
                    origin.host, origin.port, ssl=context
                )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"connect to {where} timed out") from exc
        except OSError as exc:
            raise httpx.ConnectError(f"connect to {where}: {exc.strerror}") from exc
        return _Connection(origin, reader, writer)

    async def _exchange(
        self, connection: _Connection, request: UpstreamRequest
    ) -> UpstreamResponse:
        try:
            await _send(connection, request, self.timeouts.write)
            reader = await _read_head(connection, request.method, self.timeouts.read)
        except BaseException:
            connection.close()
            raise
        status = reader.parser.get_status_code()
        if reader.complete:
            self._done(connection, reader.keep_alive)
            return UpstreamResponse(status, reader.headers, b"".join(reader.take()))
        body = UpstreamBody(connection, reader, self.timeouts.read, self._done)
        return UpstreamResponse(status, reader.headers, body)

    def _done(self, connection: _Connection, reusable: bool) -> None:
        """The exchange on `connection` is over: keep it for the next one, or close it."""
        if reusable:
            connection.idle_since = time.monotonic()
            self._idle[connection.origin].append(connection)
        else:
            connection.close()
        self._slots.release()


def _head(connection: _Connection, request: UpstreamRequest) -> tuple[bytes, bool]:
    """The request head, and whether the body goes chunked."""
    lines = [b"%s %s HTTP/1.1" % (request.method.encode("ascii"), request.target)]
    lines.append(b"host: " + connection.origin.host_header)
    lines += [name + b": " + value for name, value in request.headers]
    chunked = False
    if isinstance(request.body, bytes):
        if request.body or request.method in _BODY_METHODS:
            lines.append(b"content-length: %d" % len(request.body))
    elif request.length is not None:
        lines.append(b"content-length: %d" % request.length)
    else:
        lines.append(b"transfer-encoding: chunked")
        chunked = True
    return b"\r\n".join(lines) + b"\r\n\r\n", chunked


async def _send(connection: _Connection, request: UpstreamRequest, write_s: float | None) -> None:
    """The head, then the body as the request yields it, each write drained."""
    head, chunked = _head(connection, request)
    writer = connection.writer
    try:
        if isinstance(request.body, bytes):
            writer.write(head + request.body)
        else:
            writer.write(head)
            async for chunk in request.body:
                if chunk:
                    writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
                    async with asyncio.timeout(write_s):
                        await writer.drain()
            writer.write(b"0\r\n\r\n" if chunked else b"")
        async with asyncio.timeout(write_s):
            await writer.drain()
    except TimeoutError as exc:
        raise httpx.WriteTimeout("upstream write timed out") from exc
    except OSError as exc:
        raise _ClosedBeforeAnswer from exc


async def _read_head(connection: _Connection, method: str, read_s: float | None) -> _ResponseReader:
    """Read until the response head is parsed, and a small body with it."""
    reader = _ResponseReader(head_only=method == "HEAD")
    received = 0
    try:
        async with asyncio.timeout(read_s):
            while not reader.answered:
                data = await connection.reader.read(READ_CHUNK_BYTES)
                if not data:
                    break
                received += len(data)
                reader.parser.feed_data(data)
    except TimeoutError as exc:
        raise httpx.ReadTimeout("upstream read timed out") from exc
    except (OSError, httptools.HttpParserError) as exc:
        if received == 0 and isinstance(exc, ConnectionResetError):
            raise _ClosedBeforeAnswer from exc
        raise httpx.ReadError(f"upstream read failed: {exc!r}") from exc
    if not reader.answered:
        if received == 0:
            raise _ClosedBeforeAnswer
        raise httpx.RemoteProtocolError("upstream closed mid-response")
    return reader


class UpstreamBody:
    """The body exactly as received (still content-encoded, a proxy passes it on), read
    from the socket as it is iterated; the connection is handed back once, at the end
    of the body (reusable) or on close before it (not reusable)."""

    def __init__(
        self,
        connection: _Connection,
        reader: _ResponseReader,
        read_s: float | None,
        done: Callable[[_Connection, bool], None],
    ) -> None:
        self.connection = connection
        self.reader = reader
        self.read_s = read_s
        self.done: Callable[[_Connection, bool], None] | None = done

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.reader.take():
            yield piece
        while not self.reader.complete:
            for piece in await self._read():
                yield piece
        self._finish(self.reader.keep_alive)

    async def _read(self) -> list[bytes]:
        try:
            async with asyncio.timeout(self.read_s):
                data = await self.connection.reader.read(READ_CHUNK_BYTES)
        except TimeoutError as exc:
            self._finish(False)
            raise httpx.ReadTimeout("upstream read timed out") from exc
        except OSError as exc:
            self._finish(False)
            raise httpx.ReadError(f"upstream read failed: {exc!r}") from exc
        if not data:
            self._finish(False)
            raise httpx.RemoteProtocolError("upstream closed mid-response")
        try:
            self.reader.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._finish(False)
            raise httpx.RemoteProtocolError(f"bad upstream body: {exc!r}") from exc
        return self.reader.take()

    async def aclose(self) -> None:
        self._finish(False)

    def _finish(self, reusable: bool) -> None:
        if self.done is not None:
            done, self.done = self.done, None
            done(self.connection, reusable)


__all__ = [
    "KeepAlivePool",
    "Origin",
    "Timeouts",
    "UpstreamBody",
    "UpstreamRequest",
    "UpstreamResponse",
]
