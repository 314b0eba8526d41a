"""The gateway's keep-alive pool against a scripted HTTP server."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterable, AsyncIterator, Callable

import httpx
import pytest
from secureconnect.gateway.transport import (
    WHOLE_BODY_BYTES,
    KeepAlivePool,
    Origin,
    Timeouts,
    UpstreamBody,
    UpstreamRequest,
    UpstreamResponse,
)

from harness.platform.ports import free_port

Handler = Callable[[bytes], bytes | None]  # request head → raw response, None = hang

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
TIMEOUTS = Timeouts(connect=1, read=0.3, write=1, pool=0.2)


class ScriptedServer:
    def __init__(self, respond: Handler, close_after: int | None = None) -> None:
        self.respond = respond
        self.close_after = close_after
        self.connections = 0
        self.port = free_port()
        self.handlers: set[asyncio.Task] = set()

    async def __aenter__(self) -> ScriptedServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *_: object) -> None:
        self.server.close()
        for handler in self.handlers:
            handler.cancel()
        await asyncio.gather(*self.handlers, return_exceptions=True)
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.handlers.add(asyncio.current_task())  # type: ignore[arg-type]
        self.connections += 1
        served = 0
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                response = self.respond(head)
                if response is None:
                    await asyncio.Event().wait()  # hang until cancelled
                writer.write(response)
                await writer.drain()
                served += 1
                if self.close_after is not None and served >= self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def pool() -> AsyncIterator[KeepAlivePool]:
    pool = KeepAlivePool(max_connections=1, keepalive_expiry_s=2, timeouts=TIMEOUTS)
    yield pool
    await pool.aclose()


def origin(port: int) -> Origin:
    return Origin.parse(f"http://127.0.0.1:{port}")


async def get(
    pool: KeepAlivePool, port: int, target: bytes = b"/", body: bytes | AsyncIterable[bytes] = b""
) -> UpstreamResponse:
    method = "GET" if body == b"" else "POST"
    return await pool.exchange(origin(port), UpstreamRequest(method, target, [], body))


async def read(response: UpstreamResponse) -> bytes:
    if isinstance(response.body, bytes):
        return response.body
    return b"".join([chunk async for chunk in response.body])


def streamed(response: UpstreamResponse) -> UpstreamBody:
    assert isinstance(response.body, UpstreamBody), "the body came whole"
    return response.body


async def test_connections_are_reused_and_the_head_is_framed(pool: KeepAlivePool):
    heads = []
    async with ScriptedServer(lambda head: heads.append(head) or OK) as server:
        for _ in range(3):
            response = await get(pool, server.port, b"/x?q=1")
            assert response.status == 200 and response.body == b"ok"
        assert server.connections == 1
    assert heads[0] == b"GET /x?q=1 HTTP/1.1\r\nhost: 127.0.0.1:%d\r\n\r\n" % server.port


async def test_chunked_is_decoded_and_encoded_bodies_pass_raw(pool: KeepAlivePool):
    packed = gzip.compress(b"hello")
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    )
    gzipped = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(
        packed
    )
    responses = iter([chunked, gzipped + packed])
    async with ScriptedServer(lambda _: next(responses)) as server:
        assert await read(await get(pool, server.port)) == b"abcde"
        assert await read(await get(pool, server.port)) == packed


async def test_server_closing_idle_connection_is_retried(pool: KeepAlivePool):
    async with ScriptedServer(lambda _: OK, close_after=1) as server:
        for _ in range(2):
            assert (await get(pool, server.port)).status == 200
        assert server.connections == 2


async def test_read_timeout_and_pool_timeout(pool: KeepAlivePool):
    async with ScriptedServer(lambda _: None) as server:
        with pytest.raises(httpx.ReadTimeout):
            await get(pool, server.port)
        hung = asyncio.create_task(get(pool, server.port))
        await asyncio.sleep(0.05)  # let it take the only connection slot
        with pytest.raises(httpx.PoolTimeout):
            await get(pool, server.port)
        with pytest.raises(httpx.ReadTimeout):
            await hung


async def test_refused_connection(pool: KeepAlivePool):
    with pytest.raises(httpx.ConnectError):
        await get(pool, free_port())


#: Over the size the transport reads with the head: such a body streams.
BIG = b"x" * (WHOLE_BODY_BYTES + 1)


class StreamingServer:
    """Answers one request per connection with `head`, then body pieces as `more` allows;
    keeps what each request's body was."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces
        self.more = asyncio.Event()
        self.bodies: list[bytes] = []
        self.connections = 0
        self.port = free_port()

    async def __aenter__(self) -> StreamingServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *_: object) -> None:
        self.more.set()
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                self.bodies.append(await _dechunk(reader) if b"chunked" in head.lower() else b"")
                length = sum(len(p) for p in self.pieces)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % length)
                writer.write(self.pieces[0])
                await writer.drain()
                await self.more.wait()
                writer.writelines(self.pieces[1:])
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def _dechunk(reader: asyncio.StreamReader) -> bytes:
    body = b""
    while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
        body += (await reader.readexactly(size + 2))[:-2]
    await reader.readexactly(2)
    return body


async def test_a_response_body_streams_as_the_upstream_sends_it(pool: KeepAlivePool):
    async with StreamingServer([b"first;", BIG, b"third"]) as server:
        chunks = aiter(streamed(await get(pool, server.port, b"/big")))
        assert await anext(chunks) == b"first;"  # before the upstream sent the rest
        server.more.set()
        assert b"".join([c async for c in chunks]) == BIG + b"third"
        server.more.clear()
        again = streamed(await get(pool, server.port, b"/big"))  # the connection went back
        await again.aclose()
        assert server.connections == 1


async def test_a_response_closed_early_frees_its_connection_slot(pool: KeepAlivePool):
    async with StreamingServer([b"first;", BIG]) as server:
        await streamed(await get(pool, server.port, b"/big")).aclose()  # mid-body: not reusable
        await streamed(await get(pool, server.port, b"/big")).aclose()
        assert server.connections == 2


async def test_a_request_body_streams_chunked(pool: KeepAlivePool):
    async def body() -> AsyncIterator[bytes]:
        for piece in (b"one;", b"", b"two;", b"three"):
            yield piece

    async with StreamingServer([b"ok"]) as server:
        server.more.set()
        response = await get(pool, server.port, b"/upload", body())
        assert await read(response) == b"ok"
        assert server.bodies == [b"one;two;three"]


async def test_a_small_body_split_from_its_head_is_read_whole(pool: KeepAlivePool):
    async with StreamingServer([b"{", b'"ok":1}']) as server:
        server.more.set()  # head and first piece, then the rest in another write
        response = await get(pool, server.port, b"/small")
        assert response.body == b'{"ok":1}'
