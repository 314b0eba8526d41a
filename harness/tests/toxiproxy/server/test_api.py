"""The HTTP API: Toxiproxy's routes, JSON shapes, status codes and error bodies."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import httpx
import pytest
import toxiproxy
from toxiproxy.exceptions import NotFound, ProxyExists

from harness.tests.toxiproxy.tcp import TcpServer, connect, free_port, round_trip
from harness.toxiproxy.client import ProxyInfo, ToxiproxyClient

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def http(toxiproxy_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=toxiproxy_url, timeout=5.0) as raw_client:
        yield raw_client


def without_stats(shown: dict[str, object]) -> dict[str, object]:
    """The part of a JSON shape Toxiproxy defines: the embedded server adds `stats`."""
    return {key: value for key, value in shown.items() if key != "stats"}


def assert_error(response: httpx.Response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status
    for word in words:
        assert word in body["error"], body


def test_version_reads_through_toxiproxy_python(toxiproxy_py: toxiproxy.Toxiproxy) -> None:
    assert toxiproxy_py.running()
    assert toxiproxy_py.version()


def test_created_proxy_shows_its_bound_port(
    http: httpx.Client, toxiproxy_py: toxiproxy.Toxiproxy, echo_server: TcpServer
) -> None:
    proxy = toxiproxy_py.create(upstream=echo_server.upstream, name="api-shape")
    try:
        host, port = proxy.listen.rsplit(":", 1)
        assert host == "127.0.0.1" and int(port) > 0
        shown = http.get("/proxies/api-shape").json()
        assert without_stats(shown) == {
            "name": "api-shape",
            "listen": proxy.listen,
            "upstream": echo_server.upstream,
            "enabled": True,
            "toxics": [],
        }
        assert http.get("/proxies").json()["api-shape"] == shown
        with connect(("127.0.0.1", int(port))) as sock:
            round_trip(sock)
    finally:
        assert proxy.destroy()


def test_create_answers_201(http: httpx.Client, echo_server: TcpServer) -> None:
    body = {"name": "api-201", "listen": "127.0.0.1:0", "upstream": echo_server.upstream}
    response = http.post("/proxies", json=body)
    try:
        assert response.status_code == 201
        assert response.json()["toxics"] == []
    finally:
        assert http.delete("/proxies/api-201").status_code == 204


def test_duplicate_proxy_is_409(
    http: httpx.Client, toxiproxy_py: toxiproxy.Toxiproxy, echo_proxy: ProxyInfo
) -> None:
    body = {"name": echo_proxy.name, "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"}
    assert_error(http.post("/proxies", json=body), 409, "proxy already exists")
    with pytest.raises(ProxyExists):
        toxiproxy_py.create(upstream="127.0.0.1:1", name=echo_proxy.name)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"{not json", ("bad request body",)),
        (b"", ("bad request body",)),
        (b'{"listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"}', ("missing", "name")),
        (b'{"name": "x", "listen": "127.0.0.1:0"}', ("missing", "upstream")),
        (b'{"name": 5, "upstream": "127.0.0.1:1"}', ("bad request body",)),
        (b'{"name": "x", "upstream": "127.0.0.1:1", "enabled": "yes"}', ("bad request body",)),
        (b"[1, 2]", ("bad request body",)),
    ],
)
def test_bad_proxy_body_is_400(http: httpx.Client, content: bytes, words: tuple[str]) -> None:
    assert_error(http.post("/proxies", content=content), 400, *words)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/proxies/nope"),
        ("POST", "/proxies/nope"),
        ("DELETE", "/proxies/nope"),
        ("GET", "/proxies/nope/toxics"),
        ("POST", "/proxies/nope/toxics"),
        ("GET", "/proxies/nope/toxics/latency_downstream"),
    ],
)
def test_unknown_proxy_is_404(http: httpx.Client, method: str, path: str) -> None:
    body = {"enabled": True} if method == "POST" else None
    assert_error(http.request(method, path, json=body), 404, "proxy not found")


def test_toxic_defaults_follow_toxiproxy(
    http: httpx.Client, toxiproxy_py: toxiproxy.Toxiproxy, echo_proxy: ProxyInfo
) -> None:
    proxy = toxiproxy_py.get_proxy(echo_proxy.name)
    proxy.add_toxic(type="latency", attributes={"latency": 10})
    (shown,) = http.get(f"/proxies/{echo_proxy.name}/toxics").json()
    assert without_stats(shown) == {
        "name": "latency_downstream",
        "type": "latency",
        "stream": "downstream",
        "toxicity": 1.0,
        "attributes": {"latency": 10, "jitter": 0},
    }
    assert set(proxy.toxics()) == {"latency_downstream"}
    assert http.get(f"/proxies/{echo_proxy.name}").json()["toxics"] == [shown]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"type": "no_such_toxic"}, ("invalid toxic type",)),
        ({"type": "latency", "stream": "sideways"}, ("stream",)),
        ({"type": "latency", "attributes": {"latency": "slow"}}, ("latency",)),
        ({"type": "latency", "attributes": {"latency": 1.5}}, ("latency",)),
        ({"type": "latency", "attributes": [300]}, ("attributes",)),
        ({"type": "latency", "toxicity": 2}, ("toxicity",)),
        ({"type": "latency", "toxicity": "always"}, ("toxicity",)),
    ],
)
def test_bad_toxic_body_is_400(
    http: httpx.Client, echo_proxy: ProxyInfo, body: dict[str, object], words: tuple[str]
) -> None:
    response = http.post(f"/proxies/{echo_proxy.name}/toxics", json=body)
    assert_error(response, 400, *words)
    assert http.get(f"/proxies/{echo_proxy.name}/toxics").json() == []


def test_malformed_toxic_json_is_400(http: httpx.Client, echo_proxy: ProxyInfo) -> None:
    response = http.post(f"/proxies/{echo_proxy.name}/toxics", content=b'{"type": ')
    assert_error(response, 400, "bad request body")


def test_duplicate_toxic_is_409(
    client: ToxiproxyClient, http: httpx.Client, echo_proxy: ProxyInfo
) -> None:
    client.add_toxic(echo_proxy.name, "latency", latency=1)
    body = {"type": "latency", "attributes": {"latency": 2}}
    assert_error(
        http.post(f"/proxies/{echo_proxy.name}/toxics", json=body), 409, "toxic already exists"
    )


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_unknown_toxic_is_404(http: httpx.Client, echo_proxy: ProxyInfo, method: str) -> None:
    path = f"/proxies/{echo_proxy.name}/toxics/nope"
    body: dict[str, object] | None = {"attributes": {}} if method == "POST" else None
    assert_error(http.request(method, path, json=body), 404, "toxic not found")


def test_toxic_update_merges_attributes(
    client: ToxiproxyClient, http: httpx.Client, echo_proxy: ProxyInfo
) -> None:
    client.add_toxic(echo_proxy.name, "latency", latency=100, jitter=10)
    path = f"/proxies/{echo_proxy.name}/toxics/latency_downstream"
    response = http.post(path, json={"attributes": {"jitter": 20}, "toxicity": 0.5})
    assert response.status_code == 200
    assert response.json()["attributes"] == {"latency": 100, "jitter": 20}
    assert http.get(path).json()["toxicity"] == 0.5
    assert http.delete(path).status_code == 204
    assert http.get(f"/proxies/{echo_proxy.name}/toxics").json() == []


def test_populate_creates_and_replaces(
    client: ToxiproxyClient, http: httpx.Client, server_factory: Callable[..., TcpServer]
) -> None:
    first, second = server_factory(lambda conn: None), server_factory(lambda conn: None)
    listen = f"127.0.0.1:{free_port()}"
    proxies = [{"name": "pop-a", "listen": listen, "upstream": first.upstream}]
    try:
        response = http.post("/populate", json=proxies)
        assert response.status_code == 201
        (created,) = response.json()["proxies"]
        assert created["listen"] == listen and created["enabled"] is True
        client.add_toxic("pop-a", "latency", latency=1)
        # Unchanged: kept as is, toxics too. Changed upstream: replaced.
        assert http.post("/populate", json=proxies).json()["proxies"][0]["toxics"]
        proxies[0]["upstream"] = second.upstream
        (replaced,) = client.populate(proxies)
        assert replaced.upstream == second.upstream and replaced.toxics == ()
    finally:
        client.delete_proxy("pop-a")


def test_populate_rejects_bad_items_before_changing_anything(http: httpx.Client) -> None:
    proxies = [
        {"name": "pop-ok", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"},
        {"name": "pop-bad", "listen": "127.0.0.1:0"},
    ]
    assert_error(http.post("/populate", json=proxies), 400, "upstream")
    assert "pop-ok" not in http.get("/proxies").json()


def test_reset_removes_toxics_and_enables_proxies(
    client: ToxiproxyClient, toxiproxy_py: toxiproxy.Toxiproxy, echo_proxy: ProxyInfo
) -> None:
    client.add_toxic(echo_proxy.name, "timeout", timeout=0)
    client.add_toxic(echo_proxy.name, "latency", stream="upstream", latency=500)
    client.set_enabled(echo_proxy.name, False)
    assert toxiproxy_py.reset()
    assert client.proxy(echo_proxy.name).enabled
    assert client.toxics(echo_proxy.name) == []
    with connect(echo_proxy.address) as sock:
        assert round_trip(sock) < 0.4


def test_deleted_proxy_stops_listening(
    client: ToxiproxyClient, toxiproxy_py: toxiproxy.Toxiproxy, echo_server: TcpServer
) -> None:
    proxy = client.create_proxy("api-delete", "127.0.0.1:0", echo_server.upstream)
    live = connect(proxy.address)
    round_trip(live)
    legacy_proxy = toxiproxy_py.get_proxy("api-delete")
    assert legacy_proxy.destroy()
    with live:
        assert live.recv(10) == b""
    with pytest.raises(ConnectionRefusedError):
        connect(proxy.address)
    with pytest.raises(NotFound):
        legacy_proxy.destroy()


def test_update_moves_proxy_to_new_upstream(
    client: ToxiproxyClient, http: httpx.Client, server_factory: Callable[..., TcpServer]
) -> None:
    marked = server_factory(lambda conn: conn.sendall(b"second"))
    proxy = client.create_proxy("api-move", "127.0.0.1:0", "127.0.0.1:1")
    try:
        response = http.post("/proxies/api-move", json={"upstream": marked.upstream})
        assert response.status_code == 200
        assert response.json()["upstream"] == marked.upstream
        with connect(proxy.address) as sock:
            assert sock.recv(6) == b"second"
    finally:
        client.delete_proxy("api-move")


def test_unknown_routes_answer_json_errors(http: httpx.Client, embedded_only: None) -> None:
    assert_error(http.get("/nowhere"), 404, "Not Found")
    assert_error(http.put("/proxies"), 405, "Method Not Allowed")


def test_listen_address_in_use_is_a_client_error(http: httpx.Client, embedded_only: None) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        listen = f"127.0.0.1:{taken.getsockname()[1]}"
        body = {"name": "api-taken", "listen": listen, "upstream": "127.0.0.1:1"}
        assert_error(http.post("/proxies", json=body), 409, listen)
    assert "api-taken" not in http.get("/proxies").json()
