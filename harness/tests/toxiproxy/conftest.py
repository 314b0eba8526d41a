"""Fixtures: a Toxiproxy to test against, upstream servers, throwaway proxies.

The embedded server starts once per session as a subprocess, exactly as the
harness runs it. With ``TOXIPROXY_URL`` set, the suite drives that Toxiproxy
instead (a real ``toxiproxy-server``, say) and skips the embedded-only tests.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import toxiproxy

from harness.errors import FaultError
from harness.tests.toxiproxy.tcp import TcpServer, echo, free_port
from harness.toxiproxy.client import ProxyInfo, ToxiproxyClient

STARTUP_DEADLINE_S = 15.0
SHUTDOWN_DEADLINE_S = 10.0
_names = itertools.count(1)


def _wait_ready(client: ToxiproxyClient, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    while True:
        try:
            client.version()
            return
        except FaultError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"embedded toxiproxy did not start:\n{log.read_text()}")
            time.sleep(0.05)  # another process: nothing to await but its port


@pytest.fixture(scope="session")
def embedded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    """The embedded server's URL, or None when TOXIPROXY_URL points elsewhere."""
    if os.environ.get("TOXIPROXY_URL"):
        yield None
        return
    port = free_port()
    log = tmp_path_factory.mktemp("toxiproxy") / "server.log"
    command = [sys.executable, "-m", "harness.toxiproxy.server", "--host", "127.0.0.1"]
    with log.open("wb") as sink:
        process = subprocess.Popen([*command, "--port", str(port)], stderr=sink)
    url = f"http://127.0.0.1:{port}"
    with ToxiproxyClient(url, timeout_s=1.0) as client:
        _wait_ready(client, process, log)
    yield url
    process.terminate()
    try:
        code = process.wait(timeout=SHUTDOWN_DEADLINE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    assert code == 0, f"server exited with {code} on SIGTERM:\n{log.read_text()}"


@pytest.fixture(scope="session")
def toxiproxy_url(embedded_server: str | None) -> str:
    return embedded_server or os.environ["TOXIPROXY_URL"].rstrip("/")


@pytest.fixture
def embedded_only(embedded_server: str | None) -> None:
    if embedded_server is None:
        pytest.skip("behaviour of the embedded server only")


@pytest.fixture
def client(toxiproxy_url: str) -> Iterator[ToxiproxyClient]:
    with ToxiproxyClient(toxiproxy_url) as toxiproxy_client:
        yield toxiproxy_client


@pytest.fixture
def toxiproxy_py(toxiproxy_url: str) -> toxiproxy.Toxiproxy:
    """toxiproxy-python, pointed at the server under test (it keeps that globally)."""
    parts = urlsplit(toxiproxy_url)
    server = toxiproxy.Toxiproxy()
    server.update_api_consumer(parts.hostname, parts.port)
    return server


@pytest.fixture
def echo_server() -> Iterator[TcpServer]:
    server = TcpServer(echo)
    yield server
    server.close()


@pytest.fixture
def server_factory() -> Iterator[Callable[..., TcpServer]]:
    servers: list[TcpServer] = []

    def start(handler: Callable[..., None]) -> TcpServer:
        servers.append(TcpServer(handler))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def make_proxy(
    client: ToxiproxyClient, request: pytest.FixtureRequest
) -> Iterator[Callable[[str], ProxyInfo]]:
    """Create uniquely named proxies to an upstream; deleted after the test."""
    names: list[str] = []

    def create(upstream: str) -> ProxyInfo:
        names.append(f"{request.node.originalname}-{next(_names)}")
        return client.create_proxy(names[-1], "127.0.0.1:0", upstream)

    yield create
    for name in names:
        try:
            client.delete_proxy(name)
        except FaultError as exc:
            assert "not found" in str(exc)  # the test deleted it itself


@pytest.fixture
def echo_proxy(make_proxy: Callable[[str], ProxyInfo], echo_server: TcpServer) -> ProxyInfo:
    return make_proxy(echo_server.upstream)
