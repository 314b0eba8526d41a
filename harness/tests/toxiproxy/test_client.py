"""The typed client and the scenario context managers."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace

import pytest

from harness.errors import FaultError
from harness.tests.toxiproxy.tcp import TcpServer, connect, free_port, round_trip
from harness.toxiproxy import (
    ProxyCounters,
    ProxyInfo,
    ToxicCounters,
    ToxicInfo,
    ToxiproxyClient,
    cut,
    flaky,
    half_open,
    latency,
    throttle,
)

pytestmark = pytest.mark.timeout(60)


def test_client_drives_the_whole_api(client: ToxiproxyClient, echo_server: TcpServer) -> None:
    assert client.version()
    created = client.create_proxy("client-api", "127.0.0.1:0", echo_server.upstream)
    try:
        assert isinstance(created, ProxyInfo) and created.enabled
        assert client.proxies()["client-api"] == created
        toxic = client.add_toxic("client-api", "latency", stream="upstream", latency=5)
        # The embedded server adds counters; a real toxiproxy-server has none.
        assert replace(toxic, counters=None) == ToxicInfo(
            "latency_upstream", "latency", "upstream", 1.0, {"latency": 5, "jitter": 0}
        )
        updated = client.update_toxic("client-api", toxic.name, toxicity=0.25, jitter=2)
        assert updated.attributes == {"latency": 5, "jitter": 2} and updated.toxicity == 0.25
        assert client.toxics("client-api") == [updated]
        assert client.proxy("client-api").toxics == (updated,)
        client.remove_toxic("client-api", toxic.name)
        assert not client.set_enabled("client-api", False).enabled
        client.reset()
        assert client.proxy("client-api").enabled
    finally:
        client.delete_proxy("client-api")
    assert "client-api" not in client.proxies()


def test_server_errors_carry_the_server_message(
    client: ToxiproxyClient, echo_proxy: ProxyInfo
) -> None:
    with pytest.raises(FaultError, match="404 proxy not found"):
        client.proxy("no-such-proxy")
    with pytest.raises(FaultError, match="409 proxy already exists"):
        client.create_proxy(echo_proxy.name, "127.0.0.1:0", "127.0.0.1:1")
    with pytest.raises(FaultError, match="invalid toxic type"):
        client.add_toxic(echo_proxy.name, "no_such_toxic")
    with pytest.raises(FaultError, match="toxic not found"):
        client.remove_toxic(echo_proxy.name, "no_such_toxic")


def test_unreachable_server_is_a_fault_error() -> None:
    with ToxiproxyClient(f"http://127.0.0.1:{free_port()}", timeout_s=1.0) as nowhere:
        with pytest.raises(FaultError, match="failed"):
            nowhere.version()


def test_counters_are_none_when_the_server_keeps_none() -> None:
    # What a real toxiproxy-server answers: no `stats` anywhere.
    toxic = {"name": "t", "type": "latency", "stream": "upstream", "toxicity": 1, "attributes": {}}
    body = {"name": "p", "listen": "127.0.0.1:1", "upstream": "u:1", "enabled": True}
    proxy = ProxyInfo.from_json({**body, "toxics": [toxic]})
    assert proxy.counters is None and proxy.toxics[0].counters is None


def test_counters_are_read_when_the_server_keeps_them() -> None:
    stats = {"connections_joined": 3, "connections_applied": 2, "resets_sent": 5}
    toxic = {"name": "t", "type": "reset_peer", "stats": stats}
    counters = ToxicInfo.from_json(toxic).counters
    assert counters == ToxicCounters(3, 2, {"resets_sent": 5})
    proxy_stats = {"connections_accepted": 4, "connections_cut": 1}
    body = {"name": "p", "listen": "h:1", "upstream": "u:1", "enabled": True, "stats": proxy_stats}
    assert ProxyInfo.from_json(body).counters == ProxyCounters(4, 1, 0, 0)


def test_address_makes_wildcards_local() -> None:
    assert ProxyInfo("p", "[::]:8080", "u:1", True).address == ("127.0.0.1", 8080)
    assert ProxyInfo("p", "0.0.0.0:81", "u:1", True).address == ("127.0.0.1", 81)
    assert ProxyInfo("p", "127.0.0.2:82", "u:1", True).address == ("127.0.0.2", 82)


FAULTS: dict[str, Callable[[ToxiproxyClient, str], AbstractContextManager[object]]] = {
    "cut": lambda c, p: cut(c, p),
    "latency": lambda c, p: latency(c, p, ms=100),
    "flaky": lambda c, p: flaky(c, p, toxicity=0.5),
    "throttle": lambda c, p: throttle(c, p, kbps=10),
    "half_open": lambda c, p: half_open(c, p),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_is_removed_even_when_the_body_raises(
    client: ToxiproxyClient, echo_proxy: ProxyInfo, fault: str
) -> None:
    with pytest.raises(RuntimeError, match="scenario failed"):
        with FAULTS[fault](client, echo_proxy.name):
            state = client.proxy(echo_proxy.name)
            assert not state.enabled or state.toxics
            raise RuntimeError("scenario failed")
    state = client.proxy(echo_proxy.name)
    assert state.enabled and state.toxics == ()
    with connect(echo_proxy.address) as sock:
        round_trip(sock)


def test_cut_refuses_connections_inside_the_block(
    client: ToxiproxyClient, echo_proxy: ProxyInfo
) -> None:
    with cut(client, echo_proxy.name) as info:
        assert not info.enabled
        with pytest.raises(ConnectionRefusedError):
            connect(echo_proxy.address)
    with connect(echo_proxy.address) as sock:
        round_trip(sock)


def test_latency_slows_round_trips_inside_the_block(
    client: ToxiproxyClient, echo_proxy: ProxyInfo
) -> None:
    with connect(echo_proxy.address) as sock:
        with latency(client, echo_proxy.name, ms=200) as toxic:
            assert toxic.attributes["latency"] == 200
            assert round_trip(sock) >= 0.18
        assert round_trip(sock) < 0.15


def test_half_open_silences_the_stream(client: ToxiproxyClient, echo_proxy: ProxyInfo) -> None:
    with half_open(client, echo_proxy.name):
        with connect(echo_proxy.address, timeout_s=0.5) as sock:
            sock.sendall(b"hello?")
            with pytest.raises(TimeoutError):
                sock.recv(10)
    with connect(echo_proxy.address) as sock:
        round_trip(sock)
