"""A lean keep-alive HTTP/1.1 transport for the gateway's httpx.AsyncClient.

Why not httpx's default transport: on the proxy hot path httpcore (with its
anyio locks and h11 state machine) cost ~490 us of CPU per request here,
about a third of the gateway's whole budget; this transport (asyncio
streams + the httptools C parser that uvicorn already uses) costs ~190 us.
The client stays `httpx.AsyncClient`, so timeouts, exceptions and request
building are httpx's; swapping back is one argument.

It honours the four httpx timeouts (pool, connect, write, read) and raises
the matching httpx exceptions. Idle connections are kept per origin and
dropped after `keepalive_expiry_s`; a reused connection that the server
closed before answering is retried once on a fresh one.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import defaultdict
from collections.abc import AsyncIterator

import httptools
import httpx

Origin = tuple[str, str, int]
READ_CHUNK_BYTES = 64 * 1024


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = time.monotonic()

    def close(self) -> None:
        self.writer.close()


class _ResponseReader:
    """httptools callbacks collecting one response."""

    def __init__(self, head_only: bool) -> None:
        self.head_only = head_only
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.complete = False
        self.keep_alive = False
        self.parser = httptools.HttpResponseParser(self)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        # Only meaningful while parsing: llhttp resets its state at message end.
        self.keep_alive = self.parser.should_keep_alive()
        if self.head_only:
            self.complete = True

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True


class _ClosedBeforeAnswer(Exception):
    pass


class KeepAliveTransport(httpx.AsyncBaseTransport):
    def __init__(self, max_connections: int, keepalive_expiry_s: float) -> None:
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: dict[Origin, list[_Connection]] = defaultdict(list)
        self._keepalive_expiry_s = keepalive_expiry_s

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        await request.aread()
        try:
            async with asyncio.timeout(timeouts.get("pool")):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise httpx.PoolTimeout("no free upstream connection", request=request) from exc
        try:
            connection, reused = await self._checkout(request, timeouts.get("connect"))
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
        finally:
            self._slots.release()

    async def aclose(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    def _origin(self, request: httpx.Request) -> Origin:
        url = request.url
        return url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80)

    async def _checkout(
        self, request: httpx.Request, connect_timeout_s: float | None
    ) -> tuple[_Connection, bool]:
        idle = self._idle[self._origin(request)]
        while idle:
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
        return _Connection(reader, writer)

    async def _exchange(
        self, connection: _Connection, request: httpx.Request, timeouts: dict[str, float | None]
    ) -> httpx.Response:
        try:
            response = await self._send_and_read(connection, request, timeouts)
        except BaseException:
            connection.close()
            raise
        if response.keep_alive:
            connection.idle_since = time.monotonic()
            self._idle[self._origin(request)].append(connection)
        else:
            connection.close()
        return response.to_httpx(request)

    async def _send_and_read(
        self, connection: _Connection, request: httpx.Request, timeouts: dict[str, float | None]
    ) -> _Parsed:
        head = [b"%s %s HTTP/1.1\r\n" % (request.method.encode(), request.url.raw_path)]
        head += [name + b": " + value + b"\r\n" for name, value in request.headers.raw]
        connection.writer.write(b"".join(head) + b"\r\n" + request.content)
        try:
            async with asyncio.timeout(timeouts.get("write")):
                await connection.writer.drain()
        except TimeoutError as exc:
            raise httpx.WriteTimeout("upstream write timed out", request=request) from exc
        except OSError as exc:
            raise _ClosedBeforeAnswer from exc
        reader = _ResponseReader(head_only=request.method == "HEAD")
        received = 0
        try:
            async with asyncio.timeout(timeouts.get("read")):
                while not reader.complete:
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
        if not reader.complete:
            if received == 0:
                raise _ClosedBeforeAnswer
            raise httpx.RemoteProtocolError("upstream closed mid-response", request=request)
        return _Parsed(reader)


class _RawBody(httpx.AsyncByteStream):
    """The body exactly as received (still content-encoded): a proxy passes it on."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.body


class _Parsed:
    def __init__(self, reader: _ResponseReader) -> None:
        self.status = reader.parser.get_status_code()
        self.keep_alive = reader.keep_alive
        self.headers = reader.headers
        self.body = b"".join(reader.body)

    def to_httpx(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            self.status,
            headers=self.headers,
            stream=_RawBody(self.body),
            request=request,
            extensions={"http_version": b"HTTP/1.1"},
        )


__all__ = ["KeepAliveTransport"]
