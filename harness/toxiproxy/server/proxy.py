"""Proxies: a listener, its live connections, and the toxics applied to them.

Each accepted client gets a ``Connection``: the client socket, a socket to
the upstream, and two ``Link``s (client→upstream is the "upstream" stream,
upstream→client the "downstream" stream, as Toxiproxy names them).
Disabling a proxy closes its listener and every live connection, so
clients see refused connections and dropped sockets, as with Toxiproxy.

Each proxy counts what went through it (``ProxyStats``, shown as ``stats``
in its JSON, which stock clients ignore): connections accepted, connections
dropped by disabling it (a cut), and bytes each way. The harness reads these
as proof that a fault touched traffic.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from dataclasses import asdict, dataclass
from typing import cast

from harness.toxiproxy.server.errors import ApiError
from harness.toxiproxy.server.link import Link
from harness.toxiproxy.server.toxics import DOWNSTREAM, UPSTREAM, Toxic

log = logging.getLogger("harness.toxiproxy.server")

# Reading from a source pauses as soon as its destination has anything queued
# in user space: the kernel's socket buffers already absorb bursts, and a read
# made only while the destination is drained can reuse the read buffer instead
# of allocating one (measured: ~25% less proxy CPU per byte than a 4 MiB mark).
WRITE_HIGH_WATER_BYTES = 0
# Reads start small (a Redis command needs little) and the buffer grows each
# time a read fills it: at 4 MiB a bulk transfer costs the proxy about a
# quarter less CPU per byte than at 1 MiB, and idle sockets stay cheap.
READ_BUFFER_MIN_BYTES = 64 * 1024
READ_BUFFER_MAX_BYTES = 4 * 1024 * 1024
# Go's net.Dial has no deadline; one here keeps a dead upstream from
# pinning accepted clients forever.
UPSTREAM_CONNECT_TIMEOUT_S = 30.0


@dataclass
class ProxyStats:
    """What went through one proxy since it was created."""

    connections_accepted: int = 0
    #: Live connections dropped because the proxy was disabled.
    connections_cut: int = 0
    bytes_upstream: int = 0  # client → upstream
    bytes_downstream: int = 0  # upstream → client

    def to_json(self) -> dict[str, int]:
        return asdict(self)


def split_address(address: str) -> tuple[str, int]:
    """Split ``host:port`` or ``[v6]:port`` into (host, port); ValueError if malformed."""
    host, sep, port_text = address.rpartition(":")
    if not sep or not port_text.isdigit():
        raise ValueError(f"{address!r} is not host:port")
    port = int(port_text)
    if port > 65535:
        raise ValueError(f"port out of range in {address!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, port


def join_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class _Side(asyncio.BufferedProtocol):
    """One socket of a connection; feeds its inbound link, paces its outbound one.

    A buffered protocol: the loop reads straight into ``_buffer``, which the
    fast path hands to the other socket without an intermediate bytes copy.
    """

    def __init__(self, connection: Connection, inbound: Link, outbound: Link) -> None:
        self.connection = connection
        self.inbound = inbound
        self.outbound = outbound
        self.transport: asyncio.Transport | None = None
        self._buffer = memoryview(bytearray(READ_BUFFER_MIN_BYTES))
        self._lent = False  # the last read went to the destination uncopied
        # What the client sent before the upstream connection was up; None
        # once linked. uvloop starts reading right after connection_made, so
        # pausing there alone does not keep early bytes away.
        self.early: list[bytes | None] | None = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        self.transport.set_write_buffer_limits(high=WRITE_HIGH_WATER_BYTES)
        self.connection.side_made(self)

    def get_buffer(self, sizehint: int) -> memoryview:
        if self._lent:
            self._lent = False
            dest = self.inbound.dest
            # Bytes still queued on the destination may live in this very
            # buffer: read into a fresh one rather than over them. Once the
            # queue is empty the kernel has them, and reuse is safe.
            if dest is not None and dest.get_write_buffer_size() > 0:
                self._buffer = memoryview(bytearray(len(self._buffer)))
        return self._buffer

    def buffer_updated(self, nbytes: int) -> None:
        data = self._buffer[:nbytes]
        if self.early is not None:
            self._hold(bytes(data))
            return
        self._lent = self.inbound.receive(data)
        if nbytes == len(self._buffer) and nbytes < READ_BUFFER_MAX_BYTES:
            self._buffer = memoryview(bytearray(nbytes * 4))
            self._lent = False

    def eof_received(self) -> bool:
        if self.early is None:
            self.inbound.receive_eof()
        else:
            self._hold(None)
        return True  # keep the socket open for the other direction

    def _hold(self, data: bytes | None) -> None:
        assert self.early is not None and self.transport is not None
        self.early.append(data)
        self.transport.pause_reading()

    def linked(self) -> None:
        """The link is wired: replay what arrived early, then read on."""
        early, self.early = self.early or [], None
        for data in early:
            if data is None:
                self.inbound.receive_eof()
            else:
                self.inbound.receive(data)
        # Replaying may have filled the destination; the link then keeps it paused.
        transport = self.transport
        if transport is not None and not transport.is_closing() and not self.inbound.paused:
            transport.resume_reading()

    def pause_writing(self) -> None:
        self.outbound.dest_full()

    def resume_writing(self) -> None:
        self.outbound.dest_drained()

    def connection_lost(self, exc: Exception | None) -> None:
        self.connection.close()


class Connection:
    """A client, its upstream socket, and the two links between them."""

    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy
        self.links = {UPSTREAM: Link(self, UPSTREAM), DOWNSTREAM: Link(self, DOWNSTREAM)}
        self.client = _Side(self, self.links[UPSTREAM], self.links[DOWNSTREAM])
        self.upstream = _Side(self, self.links[DOWNSTREAM], self.links[UPSTREAM])
        self._connecting: asyncio.Task[None] | None = None
        self.closed = False

    def side_made(self, side: _Side) -> None:
        if side is self.client:
            assert side.transport is not None
            # Nothing should be read from the client before the upstream
            # answers; what uvloop reads anyway waits in ``_Side.early``.
            side.transport.pause_reading()
            # The toxics are taken now, as the connection joins the proxy, not when the
            # protocol was made: a toxic added in between would miss this connection.
            self.proxy.connections.add(self)
            self.proxy.stats.connections_accepted += 1
            for stream, link in self.links.items():
                for toxic in self.proxy.toxics_for(stream):
                    link.add_toxic(toxic)
            self._connecting = asyncio.get_running_loop().create_task(self._connect())

    async def _connect(self) -> None:
        host, port = split_address(self.proxy.upstream)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(UPSTREAM_CONNECT_TIMEOUT_S):
                await loop.create_connection(lambda: self.upstream, host or "localhost", port)
        except (OSError, TimeoutError) as exc:
            log.warning("proxy %s: upstream %s unreachable: %s", self.proxy.name, host, exc)
            self.close()
            return
        client, upstream = self.client.transport, self.upstream.transport
        if self.closed:  # disabled or deleted while connecting
            if upstream is not None:
                upstream.close()
            return
        assert client is not None and upstream is not None
        self.links[UPSTREAM].source, self.links[UPSTREAM].dest = client, upstream
        self.links[DOWNSTREAM].source, self.links[DOWNSTREAM].dest = upstream, client
        self.upstream.linked()
        self.client.linked()

    def link_finished(self) -> None:
        if all(link.finished for link in self.links.values()):
            self.close()

    def close(self, reset: bool = False) -> None:
        """Close both sockets; with ``reset``, abortively (TCP RST)."""
        if self.closed:
            return
        self.closed = True
        self.proxy.connections.discard(self)
        for link in self.links.values():
            link.shutdown()
        if self._connecting is not None and self._connecting is not asyncio.current_task():
            self._connecting.cancel()
        for side in (self.client, self.upstream):
            transport = side.transport
            if transport is None or transport.is_closing():
                continue
            if reset:
                _abort_with_rst(transport)
            else:
                transport.close()  # flushes what is buffered, then FIN


def _abort_with_rst(transport: asyncio.Transport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # SO_LINGER on with a zero timeout turns close() into a RST.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


class Proxy:
    """A named listener forwarding to one upstream, with its toxics."""

    def __init__(self, name: str, listen: str, upstream: str) -> None:
        self.name = name
        self.listen = listen
        self.upstream = upstream
        self.enabled = False
        self.toxics: dict[str, Toxic] = {}
        self.connections: set[Connection] = set()
        self.stats = ProxyStats()
        self._server: asyncio.AbstractServer | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "toxics": [toxic.to_json() for toxic in self.toxic_list()],
            "stats": self.stats.to_json(),
        }

    def toxic_list(self) -> list[Toxic]:
        # Toxiproxy lists the upstream chain first, each in insertion order.
        return self.toxics_for(UPSTREAM) + self.toxics_for(DOWNSTREAM)

    def toxics_for(self, stream: str) -> list[Toxic]:
        return [toxic for toxic in self.toxics.values() if toxic.stream == stream]

    async def start(self) -> None:
        if self.enabled:
            return
        host, port = split_address(self.listen)
        loop = asyncio.get_running_loop()
        try:
            # One address only: "localhost:0" would otherwise bind IPv4 and
            # IPv6 on two different ports, and the API can show just one.
            infos = await loop.getaddrinfo(
                host or "0.0.0.0", port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )
            server = await loop.create_server(
                lambda: Connection(self).client, str(infos[0][4][0]), port, backlog=1024
            )
        except socket.gaierror as exc:
            raise ApiError(400, f"listen {self.listen}: {exc.strerror or exc}") from exc
        except OSError as exc:  # mostly "address already in use"
            raise ApiError(409, f"listen {self.listen}: {exc.strerror or exc}") from exc
        bound_host, bound_port = server.sockets[0].getsockname()[:2]
        self._server = server
        self.listen = join_address(bound_host, bound_port)
        self.enabled = True

    async def stop(self, cut: bool = False) -> None:
        """Close the listener and every live connection; ``cut`` counts them as cut."""
        if not self.enabled:
            return
        self.enabled = False
        server, self._server = self._server, None
        if server is not None:
            server.close()
        if cut:
            self.stats.connections_cut += len(self.connections)
        for connection in list(self.connections):
            connection.close()
        if server is not None:
            await server.wait_closed()

    async def update(self, listen: str, upstream: str, enabled: bool) -> None:
        if listen != self.listen or upstream != self.upstream:
            await self.stop()
            self.listen, self.upstream = listen, upstream
        if enabled:
            await self.start()
        else:
            await self.stop(cut=True)

    def add_toxic(self, toxic: Toxic) -> None:
        self.toxics[toxic.name] = toxic
        for connection in list(self.connections):
            connection.links[toxic.stream].add_toxic(toxic)

    def update_toxic(self, toxic: Toxic) -> None:
        self.toxics[toxic.name] = toxic
        for connection in list(self.connections):
            connection.links[toxic.stream].update_toxic(toxic)

    def remove_toxic(self, name: str) -> None:
        toxic = self.toxics.pop(name)
        for connection in list(self.connections):
            connection.links[toxic.stream].remove_toxic(name)
