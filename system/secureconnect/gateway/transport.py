"""A lean keep-alive HTTP/1.1 transport for the gateway's httpx.AsyncClient.

Why not httpx's default transport: on the proxy hot path httpcore (with its
anyio locks and h11 state machine) cost ~490 us of CPU per request here,
about a third of the gateway's whole budget; this transport (asyncio
streams + the httptools C parser that uvicorn already uses) costs ~190 us.
The client stays `httpx.AsyncClient`, so timeouts, exceptions and request
building are httpx's; swapping back is one argument.

Bodies stream in both directions: a request body given as an async iterator
is written chunk by chunk (each write drained before the next is read: the
client's pace is the upstream's), and the response body is read from the
socket only as the caller iterates it, so memory stays at a few chunks
whatever the size. The connection (and its pool slot) is held until the
response body is read to the end or closed.

It honours the four httpx timeouts (pool, connect, write, read: the read
timeout bounds the wait for the response head, then each read of the body)
and raises the matching httpx exceptions. Idle connections are kept per origin
and dropped after `keepalive_expiry_s`; a reused connection that the server
closed before answering is retried once on a fresh one, so a request whose
body cannot be replayed (streamed) always gets a fresh connection.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable

import httptools
import httpx

Origin = tuple[str, str, int]
READ_CHUNK_BYTES = 64 * 1024
#: A response body up to this size (by its Content-Length) is read with the head.
WHOLE_BODY_BYTES = 64 * 1024
Timeouts = dict[str, float | None]
#: Response extension: True when the whole body was read with the head.
BODY_COMPLETE = "secureconnect.body_complete"


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


class KeepAliveTransport(httpx.AsyncBaseTransport):
    def __init__(self, max_connections: int, keepalive_expiry_s: float) -> None:
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: dict[Origin, list[_Connection]] = defaultdict(list)
        self._keepalive_expiry_s = keepalive_expiry_s

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts: Timeouts = request.extensions.get("timeout", {})
        try:
            async with asyncio.timeout(timeouts.get("pool")):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise httpx.PoolTimeout("no free upstream connection", request=request) from exc
        try:
            return await self._answer(request, timeouts)
        except BaseException:
            self._slots.release()
            raise

    async def aclose(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    async def _answer(self, request: httpx.Request, timeouts: Timeouts) -> httpx.Response:
        replayable = isinstance(request.stream, httpx.ByteStream)
        connection, reused = await self._checkout(request, timeouts.get("connect"), replayable)
        try:
            return await self._exchange(connection, request, timeouts)
        except _ClosedBeforeAnswer:
            if not reused:
                raise httpx.RemoteProtocolError(
                    "server closed the connection", request=request
                ) from None
        connection = await self._connect(request, timeouts.get("connect"))
        try:
            return await self._exchange(connection, request, timeouts)
        except _ClosedBeforeAnswer as exc:
            raise httpx.RemoteProtocolError(
                "server closed the connection", request=request
            ) from exc

    def _origin(self, request: httpx.Request) -> Origin:
        url = request.url
        return url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80)

    async def _checkout(
        self, request: httpx.Request, connect_timeout_s: float | None, reuse: bool
    ) -> tuple[_Connection, bool]:
        idle = self._idle[self._origin(request)]
        while reuse and idle:
            connection = idle.pop()
            fresh = time.monotonic() - connection.idle_since < self._keepalive_expiry_s
            if fresh and not connection.reader.at_eof():
                return connection, True
            connection.close()
        return await self._connect(request, connect_timeout_s), False

    async def _connect(
        self, request: httpx.Request, connect_timeout_s: float | None
    ) -> _Connection:
        scheme, host, port = self._origin(request)
        context = ssl.create_default_context() if scheme == "https" else None
        try:
            async with asyncio.timeout(connect_timeout_s):
                reader, writer = await asyncio.open_connection(host, port, ssl=context)
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(
                f"connect to {host}:{port} timed out", request=request
            ) from exc
        except OSError as exc:
            raise httpx.ConnectError(
                f"connect to {host}:{port}: {exc.strerror}", request=request
            ) from exc
        return _Connection((scheme, host, port), reader, writer)

    async def _exchange(
        self, connection: _Connection, request: httpx.Request, timeouts: Timeouts
    ) -> httpx.Response:
        try:
            await _send(connection, request, timeouts.get("write"))
            reader = await _read_head(connection, request, timeouts.get("read"))
        except BaseException:
            connection.close()
            raise
        body = _UpstreamBody(connection, reader, request, timeouts.get("read"), self._done)
        if reader.complete:
            self._done(connection, reader.keep_alive)
        return httpx.Response(
            reader.parser.get_status_code(),
            headers=reader.headers,
            stream=body,
            request=request,
            # BODY_COMPLETE: the whole body came with the head (most API answers), so
            # the caller can send it in one piece rather than stream it.
            extensions={"http_version": b"HTTP/1.1", BODY_COMPLETE: reader.complete},
        )

    def _done(self, connection: _Connection, reusable: bool) -> None:
        """The exchange on `connection` is over: keep it for the next one, or close it."""
        if reusable:
            connection.idle_since = time.monotonic()
            self._idle[connection.origin].append(connection)
        else:
            connection.close()
        self._slots.release()


async def _send(connection: _Connection, request: httpx.Request, write_s: float | None) -> None:
    """The head, then the body as the request's stream yields it, each write drained."""
    head = [b"%s %s HTTP/1.1\r\n" % (request.method.encode(), request.url.raw_path)]
    head += [name + b": " + value + b"\r\n" for name, value in request.headers.raw]
    chunked = request.headers.get("transfer-encoding", "").lower() == "chunked"
    writer = connection.writer
    try:
        writer.write(b"".join(head) + b"\r\n")
        async for chunk in request.stream:  # type: ignore[union-attr]
            if chunk:
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
                async with asyncio.timeout(write_s):
                    await writer.drain()
        writer.write(b"0\r\n\r\n" if chunked else b"")
        async with asyncio.timeout(write_s):
            await writer.drain()
    except TimeoutError as exc:
        raise httpx.WriteTimeout("upstream write timed out", request=request) from exc
    except OSError as exc:
        raise _ClosedBeforeAnswer from exc


async def _read_head(
    connection: _Connection, request: httpx.Request, read_s: float | None
) -> _ResponseReader:
    """Read until the response head is parsed, and a small body with it."""
    reader = _ResponseReader(head_only=request.method == "HEAD")
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
        raise httpx.ReadTimeout("upstream read timed out", request=request) from exc
    except (OSError, httptools.HttpParserError) as exc:
        if received == 0 and isinstance(exc, ConnectionResetError):
            raise _ClosedBeforeAnswer from exc
        raise httpx.ReadError(f"upstream read failed: {exc!r}", request=request) from exc
    if not reader.answered:
        if received == 0:
            raise _ClosedBeforeAnswer
        raise httpx.RemoteProtocolError("upstream closed mid-response", request=request)
    return reader


class _UpstreamBody(httpx.AsyncByteStream):
    """The body exactly as received (still content-encoded, a proxy passes it on), read
    from the socket as it is iterated; the connection is handed back once, at the end
    of the body (reusable) or on close before it (not reusable)."""

    def __init__(
        self,
        connection: _Connection,
        reader: _ResponseReader,
        request: httpx.Request,
        read_s: float | None,
        done: Callable[[_Connection, bool], None],
    ) -> None:
        self.connection = connection
        self.reader = reader
        self.request = request
        self.read_s = read_s
        self.done: Callable[[_Connection, bool], None] | None = None if reader.complete else done

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
            raise httpx.ReadTimeout("upstream read timed out", request=self.request) from exc
        except OSError as exc:
            self._finish(False)
            raise httpx.ReadError(f"upstream read failed: {exc!r}", request=self.request) from exc
        if not data:
            self._finish(False)
            raise httpx.RemoteProtocolError("upstream closed mid-response", request=self.request)
        try:
            self.reader.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._finish(False)
            message = f"bad upstream body: {exc!r}"
            raise httpx.RemoteProtocolError(message, request=self.request) from exc
        return self.reader.take()

    async def aclose(self) -> None:
        self._finish(False)

    def _finish(self, reusable: bool) -> None:
        if self.done is not None:
            done, self.done = self.done, None
            done(self.connection, reusable)


__all__ = ["BODY_COMPLETE", "KeepAliveTransport"]
