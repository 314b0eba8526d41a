"""The embedded server's counters: what each proxy carried and what each toxic did.

They are the harness's proof that a fault touched traffic, so each one is
shown to count what it names, and nothing when the fault never acted.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.tests.toxiproxy.tcp import (
    TcpServer,
    connect,
    recv_all,
    recv_exactly,
    round_trip,
    send_then_close,
    send_then_wait,
)
from harness.toxiproxy.client import ProxyInfo, ToxicCounters, ToxiproxyClient

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("embedded_only")]


def counters(client: ToxiproxyClient, proxy: str, toxic: str) -> ToxicCounters:
    found = client.toxic(proxy, toxic).counters
    assert found is not None, "the embedded server shows a toxic's stats"
    return found


def test_proxy_counts_connections_and_bytes_each_way(
    client: ToxiproxyClient, echo_proxy: ProxyInfo
) -> None:
    for _ in range(3):
        with connect(echo_proxy.address) as sock:
            round_trip(sock, b"12345")
    shown = client.proxy(echo_proxy.name).counters
    assert shown is not None
    assert shown.connections_accepted == 3
    assert shown.bytes_upstream == 15 and shown.bytes_downstream == 15
    assert shown.connections_cut == 0


def test_a_cut_counts_the_live_connections_it_drops(
    client: ToxiproxyClient, echo_proxy: ProxyInfo
) -> None:
    live = [connect(echo_proxy.address) for _ in range(2)]
    for sock in live:
        round_trip(sock)
    disabled = client.set_enabled(echo_proxy.name, False)
    for sock in live:
        with sock:
            assert recv_all(sock) == b""
    assert disabled.counters is not None and disabled.counters.connections_cut == 2
    # Enabling again, or a cut with nobody connected, drops nothing more.
    client.set_enabled(echo_proxy.name, True)
    client.set_enabled(echo_proxy.name, False)
    client.set_enabled(echo_proxy.name, True)
    shown = client.proxy(echo_proxy.name).counters
    assert shown is not None and shown.connections_cut == 2


def test_toxicity_decides_joined_versus_applied(
    client: ToxiproxyClient, echo_proxy: ProxyInfo
) -> None:
    client.add_toxic(echo_proxy.name, "latency", toxicity=0.0, latency=1)
    client.add_toxic(echo_proxy.name, "slicer", toxicity=1.0, average_size=1)
    for _ in range(2):
        with connect(echo_proxy.address) as sock:
            round_trip(sock)
    spared = counters(client, echo_proxy.name, "latency_downstream")
    hit = counters(client, echo_proxy.name, "slicer_downstream")
    assert (spared.connections_joined, spared.connections_applied) == (2, 0)
    assert spared.actions == {"chunks_delayed": 0}
    assert (hit.connections_joined, hit.connections_applied) == (2, 2)


def test_latency_counts_chunks_delayed(client: ToxiproxyClient, echo_proxy: ProxyInfo) -> None:
    client.add_toxic(echo_proxy.name, "latency", latency=20)
    with connect(echo_proxy.address) as sock:
        for _ in range(3):
            round_trip(sock)
    assert counters(client, echo_proxy.name, "latency_downstream").actions == {"chunks_delayed": 3}


def test_reset_peer_counts_resets_sent(client: ToxiproxyClient, echo_proxy: ProxyInfo) -> None:
    client.add_toxic(echo_proxy.name, "reset_peer", timeout=0)
    for _ in range(2):
        with connect(echo_proxy.address) as sock:
            sock.sendall(b"ping")
            with pytest.raises(ConnectionResetError):
                recv_all(sock)
    assert counters(client, echo_proxy.name, "reset_peer_downstream").actions == {"resets_sent": 2}


def test_timeout_counts_connections_stalled_and_closed(
    client: ToxiproxyClient, echo_proxy: ProxyInfo
) -> None:
    client.add_toxic(echo_proxy.name, "timeout", stream="upstream", timeout=200)
    with connect(echo_proxy.address) as sock:
        sock.sendall(b"lost")
        sock.sendall(b"lost too")
        assert recv_all(sock) == b""
    shown = counters(client, echo_proxy.name, "timeout_upstream")
    assert shown.actions == {"connections_stalled": 1, "connections_closed": 1}


def test_bandwidth_counts_bytes_held_back(
    client: ToxiproxyClient,
    make_proxy: Callable[[str], ProxyInfo],
    server_factory: Callable[..., TcpServer],
) -> None:
    proxy = make_proxy(server_factory(send_then_close(b"x" * 5000)).upstream)
    client.add_toxic(proxy.name, "bandwidth", rate=100)
    with connect(proxy.address) as sock:
        assert len(recv_all(sock)) == 5000
    assert counters(client, proxy.name, "bandwidth_downstream").actions == {"bytes_held_back": 5000}


def test_limit_data_counts_connections_closed(
    client: ToxiproxyClient,
    make_proxy: Callable[[str], ProxyInfo],
    server_factory: Callable[..., TcpServer],
) -> None:
    proxy = make_proxy(server_factory(send_then_wait(b"y" * 4000)).upstream)
    client.add_toxic(proxy.name, "limit_data", bytes=100)
    with connect(proxy.address) as sock:
        assert len(recv_all(sock)) == 100
    assert counters(client, proxy.name, "limit_data_downstream").actions == {
        "connections_closed": 1
    }


def test_slicer_counts_chunks_sliced(client: ToxiproxyClient, echo_proxy: ProxyInfo) -> None:
    client.add_toxic(echo_proxy.name, "slicer", average_size=2)
    with connect(echo_proxy.address) as sock:
        sock.sendall(b"sliced")
        assert recv_exactly(sock, 6) == b"sliced"
        round_trip(sock, b"z")  # one byte: nothing to slice
    assert counters(client, echo_proxy.name, "slicer_downstream").actions == {"chunks_sliced": 1}


def test_slow_close_counts_closes_delayed(
    client: ToxiproxyClient,
    make_proxy: Callable[[str], ProxyInfo],
    server_factory: Callable[..., TcpServer],
) -> None:
    proxy = make_proxy(server_factory(send_then_close(b"bye")).upstream)
    client.add_toxic(proxy.name, "slow_close", delay=50)
    with connect(proxy.address) as sock:
        assert recv_all(sock) == b"bye"
    assert counters(client, proxy.name, "slow_close_downstream").actions == {"closes_delayed": 1}


def test_counters_survive_updates(client: ToxiproxyClient, echo_proxy: ProxyInfo) -> None:
    client.add_toxic(echo_proxy.name, "latency", latency=10)
    with connect(echo_proxy.address) as sock:
        round_trip(sock)
        client.update_toxic(echo_proxy.name, "latency_downstream", latency=20)
        round_trip(sock)
    shown = counters(client, echo_proxy.name, "latency_downstream")
    # One connection, rolled twice (at join and at the update), counted once.
    assert (shown.connections_joined, shown.connections_applied) == (1, 1)
    assert shown.actions == {"chunks_delayed": 2}
