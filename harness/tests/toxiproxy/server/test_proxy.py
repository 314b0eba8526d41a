"""The data path without toxics: bytes intact, enable/disable, closes passed on."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import toxiproxy

from harness.tests.toxiproxy.tcp import (
    TcpServer,
    connect,
    free_port,
    recv_all,
    recv_exactly,
    round_trip,
)
from harness.toxiproxy.client import ProxyInfo, ToxiproxyClient

pytestmark = pytest.mark.timeout(60)


def test_bulk_bytes_come_back_intact(echo_proxy: ProxyInfo) -> None:
    # Sending at once and reading concurrently exercises the fast path's
    # buffer reuse under back-pressure; any overwritten byte changes the hash.
    payload = os.urandom(16 * 1024 * 1024)
    with connect(echo_proxy.address, timeout_s=20) as sock:
        sender = threading.Thread(target=sock.sendall, args=(payload,))
        sender.start()
        echoed = recv_exactly(sock, len(payload))
        sender.join(timeout=20)
    assert hashlib.sha256(echoed).digest() == hashlib.sha256(payload).digest()


def test_many_connections_at_once(echo_proxy: ProxyInfo) -> None:
    def talk(index: int) -> bytes:
        with connect(echo_proxy.address) as sock:
            message = f"connection {index}".encode()
            sock.sendall(message)
            return recv_exactly(sock, len(message))

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(talk, range(48)))
    assert answers == [f"connection {i}".encode() for i in range(48)]


def test_disabled_proxy_refuses_and_drops_connections(
    toxiproxy_py: toxiproxy.Toxiproxy, echo_proxy: ProxyInfo
) -> None:
    proxy = toxiproxy_py.get_proxy(echo_proxy.name)
    live = connect(echo_proxy.address)
    round_trip(live)
    with proxy.down():
        with live:
            try:
                assert live.recv(10) == b""
            except ConnectionResetError:
                pass  # dropped either way
        with pytest.raises(ConnectionRefusedError):
            connect(echo_proxy.address)
    # Enabled again, on the same address.
    with connect(echo_proxy.address) as sock:
        round_trip(sock)


def test_unreachable_upstream_closes_the_client(make_proxy: Callable[[str], ProxyInfo]) -> None:
    proxy = make_proxy(f"127.0.0.1:{free_port()}")
    with connect(proxy.address) as sock:
        try:
            assert sock.recv(10) == b""
        except ConnectionResetError:
            pass


def test_upstream_close_reaches_the_client(
    make_proxy: Callable[[str], ProxyInfo], server_factory: Callable[..., TcpServer]
) -> None:
    server = server_factory(lambda conn: conn.sendall(b"goodbye"))
    with connect(make_proxy(server.upstream).address) as sock:
        assert recv_all(sock) == b"goodbye"


def test_half_close_is_passed_on(echo_proxy: ProxyInfo, embedded_only: None) -> None:
    # The client stops sending but still reads: the echo upstream sees EOF,
    # answers everything, closes, and the client sees it all then EOF.
    with connect(echo_proxy.address) as sock:
        sock.sendall(b"last words")
        sock.shutdown(socket.SHUT_WR)
        assert recv_all(sock) == b"last words"


def test_connection_opened_before_a_toxic_is_unaffected_after_removal(
    client: ToxiproxyClient, echo_proxy: ProxyInfo
) -> None:
    with connect(echo_proxy.address) as sock:
        round_trip(sock)
        client.add_toxic(echo_proxy.name, "latency", latency=200)
        assert round_trip(sock) >= 0.18
        client.remove_toxic(echo_proxy.name, "latency_downstream")
        assert round_trip(sock) < 0.15
        # Back on the fast path: bulk data still flows intact.
        payload = os.urandom(2 * 1024 * 1024)
        sender = threading.Thread(target=sock.sendall, args=(payload,))
        sender.start()
        assert recv_exactly(sock, len(payload)) == payload
        sender.join(timeout=10)
