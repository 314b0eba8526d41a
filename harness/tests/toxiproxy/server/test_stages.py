"""Each toxic does what Toxiproxy's does, to new and to live connections."""

from __future__ import annotations

import socket
import statistics
import time
from collections.abc import Callable

import pytest
import toxiproxy

from harness.tests.toxiproxy.tcp import (
    TcpServer,
    connect,
    recv_all,
    recv_exactly,
    round_trip,
    send_then_close,
    send_then_wait,
)
from harness.toxiproxy.client import ProxyInfo, Stream, ToxiproxyClient

pytestmark = pytest.mark.timeout(60)

LATENCY_MS = 300
TOLERANCE = 0.15


def median_round_trip(sock: socket.socket, times: int = 3) -> float:
    return statistics.median(round_trip(sock) for _ in range(times))


def test_latency_adds_its_delay_to_a_round_trip(
    toxiproxy_py: toxiproxy.Toxiproxy, echo_proxy: ProxyInfo
) -> None:
    with connect(echo_proxy.address) as sock:
        baseline = median_round_trip(sock)
    toxiproxy_py.get_proxy(echo_proxy.name).add_toxic(
        type="latency", attributes={"latency": LATENCY_MS}
    )
    with connect(echo_proxy.address) as sock:
        added_ms = (median_round_trip(sock) - baseline) * 1000
    assert LATENCY_MS * (1 - TOLERANCE) <= added_ms <= LATENCY_MS * (1 + TOLERANCE)


def test_latency_is_pipelined_not_serialized(
    client: ToxiproxyClient, echo_proxy: ProxyInfo
) -> None:
    # Ten messages 30 ms apart under 200 ms latency: each arrives 200 ms after
    # it was sent, so all are back in ~0.5 s, not 10 x 0.2 s.
    client.add_toxic(echo_proxy.name, "latency", latency=200)
    with connect(echo_proxy.address) as sock:
        started = time.perf_counter()
        for index in range(10):
            sock.sendall(b"%d;" % index)
            time.sleep(0.03)  # pacing the sender is the point of the test
        answer = recv_exactly(sock, len(b"".join(b"%d;" % i for i in range(10))))
        elapsed = time.perf_counter() - started
    assert answer == b"".join(b"%d;" % i for i in range(10))
    assert 0.45 <= elapsed < 1.0


@pytest.mark.parametrize(("stream", "delayed"), [("downstream", True), ("upstream", False)])
def test_stream_selects_the_direction(
    client: ToxiproxyClient,
    make_proxy: Callable[[str], ProxyInfo],
    server_factory: Callable[..., TcpServer],
    stream: Stream,
    delayed: bool,
) -> None:
    # The upstream greets on connect: only a downstream toxic delays that.
    greeter = server_factory(send_then_wait(b"hello"))
    proxy = make_proxy(greeter.upstream)
    client.add_toxic(proxy.name, "latency", stream=stream, latency=400)
    with connect(proxy.address) as sock:
        started = time.perf_counter()
        assert recv_exactly(sock, 5) == b"hello"
        elapsed = time.perf_counter() - started
    assert (elapsed >= 0.35) is delayed


def test_timeout_zero_stalls_until_removed(
    toxiproxy_py: toxiproxy.Toxiproxy, echo_proxy: ProxyInfo
) -> None:
    proxy = toxiproxy_py.get_proxy(echo_proxy.name)
    proxy.add_toxic(type="timeout", attributes={"timeout": 0})
    stalled = connect(echo_proxy.address, timeout_s=1.0)
    stalled.sendall(b"anyone there?")
    with pytest.raises(TimeoutError):
        stalled.recv(100)
    proxy.destroy_toxic("timeout_downstream")
    # Like Toxiproxy, removing the toxic closes the connections it stalled...
    stalled.settimeout(5.0)
    with stalled:
        assert recv_all(stalled) == b""
    # ...and new connections flow again.
    with connect(echo_proxy.address) as sock:
        round_trip(sock)


def test_timeout_closes_after_its_delay(client: ToxiproxyClient, echo_proxy: ProxyInfo) -> None:
    client.add_toxic(echo_proxy.name, "timeout", timeout=300)
    with connect(echo_proxy.address) as sock:
        started = time.perf_counter()
        sock.sendall(b"dropped")
        assert recv_all(sock) == b""
        elapsed = time.perf_counter() - started
    assert 0.25 <= elapsed < 2.0


def test_reset_peer_resets_the_connection(
    toxiproxy_py: toxiproxy.Toxiproxy, echo_proxy: ProxyInfo
) -> None:
    toxiproxy_py.get_proxy(echo_proxy.name).add_toxic(type="reset_peer", attributes={"timeout": 0})
    with connect(echo_proxy.address) as sock:
        sock.sendall(b"ping")
        with pytest.raises(ConnectionResetError):
            recv_all(sock)


def test_limit_data_closes_after_n_bytes(
    client: ToxiproxyClient,
    make_proxy: Callable[[str], ProxyInfo],
    server_factory: Callable[..., TcpServer],
) -> None:
    # The upstream would send 100 kB and stay open: only the toxic can close.
    source = server_factory(send_then_wait(bytes(range(256)) * 400))
    proxy = make_proxy(source.upstream)
    client.add_toxic(proxy.name, "limit_data", bytes=1000)
    with connect(proxy.address) as sock:
        received = recv_all(sock)
    assert received == (bytes(range(256)) * 4)[:1000]


def test_bandwidth_limits_throughput(
    client: ToxiproxyClient,
    make_proxy: Callable[[str], ProxyInfo],
    server_factory: Callable[..., TcpServer],
) -> None:
    size = 60_000
    source = server_factory(send_then_close(b"x" * size))
    proxy = make_proxy(source.upstream)
    client.add_toxic(proxy.name, "bandwidth", rate=100)  # 100 KB/s: 0.6 s
    with connect(proxy.address) as sock:
        started = time.perf_counter()
        assert len(recv_all(sock)) == size
        elapsed = time.perf_counter() - started
    assert 0.45 <= elapsed <= 0.9


def test_slicer_splits_data_into_small_writes(
    client: ToxiproxyClient,
    make_proxy: Callable[[str], ProxyInfo],
    server_factory: Callable[..., TcpServer],
) -> None:
    payload = bytes(range(200)) * 5
    source = server_factory(send_then_close(payload))
    proxy = make_proxy(source.upstream)
    client.add_toxic(proxy.name, "slicer", average_size=100, size_variation=20, delay=20_000)
    reads = []
    with connect(proxy.address) as sock:
        while part := sock.recv(65536):
            reads.append(part)
    assert b"".join(reads) == payload
    assert len(reads) >= 6
    assert max(len(part) for part in reads) <= 250


def test_slow_close_holds_the_close_back(
    client: ToxiproxyClient,
    make_proxy: Callable[[str], ProxyInfo],
    server_factory: Callable[..., TcpServer],
) -> None:
    source = server_factory(send_then_close(b"bye"))
    proxy = make_proxy(source.upstream)
    client.add_toxic(proxy.name, "slow_close", delay=400)
    with connect(proxy.address) as sock:
        started = time.perf_counter()
        assert recv_exactly(sock, 3) == b"bye"
        assert time.perf_counter() - started < 0.3
        assert recv_all(sock) == b""
        assert time.perf_counter() - started >= 0.35


@pytest.mark.parametrize(("toxicity", "resets"), [(0.0, 0), (1.0, 4)])
def test_toxicity_is_the_share_of_connections_hit(
    client: ToxiproxyClient, echo_proxy: ProxyInfo, toxicity: float, resets: int
) -> None:
    client.add_toxic(echo_proxy.name, "reset_peer", toxicity=toxicity, timeout=0)
    seen = 0
    for _ in range(4):
        with connect(echo_proxy.address) as sock:
            try:
                round_trip(sock)
            except (ConnectionResetError, EOFError):
                seen += 1
    assert seen == resets


def test_updated_toxic_changes_live_connections(
    client: ToxiproxyClient, echo_proxy: ProxyInfo
) -> None:
    with connect(echo_proxy.address) as sock:
        client.add_toxic(echo_proxy.name, "latency", latency=5000)
        sock.sendall(b"held")
        # The chunk held in a 5 s sleep goes out as soon as the toxic changes.
        client.update_toxic(echo_proxy.name, "latency_downstream", latency=0)
        started = time.perf_counter()
        assert recv_exactly(sock, 4) == b"held"
        assert time.perf_counter() - started < 1.0
        assert round_trip(sock) < 0.15
        client.update_toxic(echo_proxy.name, "latency_downstream", latency=250)
        assert round_trip(sock) >= 0.23


def test_toxic_added_to_a_live_connection_applies(
    client: ToxiproxyClient, echo_proxy: ProxyInfo
) -> None:
    with connect(echo_proxy.address) as sock:
        round_trip(sock)
        client.add_toxic(echo_proxy.name, "reset_peer", stream="upstream", timeout=0)
        sock.sendall(b"ping")
        # The embedded server resets; Toxiproxy only arms SO_LINGER on links
        # that had the toxic from the start, so there it is a plain close.
        try:
            assert recv_all(sock) == b""
        except ConnectionResetError:
            pass
