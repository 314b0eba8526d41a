"""A gateway of the tests' own, in front of backends the stack does not have: one
that accepts connections and never answers (video), one that is not there
(storage), and a WebSocket echo (chat). For everything else (auth, Redis, the
JWT key) it uses the harness stack, as the stack's own gateway does.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from websockets.sync.server import ServerConnection, serve

from harness.platform.base import Platform
from harness.platform.ports import LOOPBACK, free_port
from harness.platform.process import ManagedProcess
from harness.waiting import eventually
from tests.stores import proxied_address

#: The own gateway's whole-request budget, seconds: short, so the 504 test is quick.
BUDGET_S = 2.0
CORS_ORIGIN = "https://app.secureconnect.test"
STARTUP_DEADLINE_S = 30.0


@dataclass(frozen=True)
class OwnGateway:
    url: str
    budget_s: float
    cors_origin: str


@pytest.fixture(scope="module")
def hung_backend() -> Iterator[str]:
    """Listens and never accepts: a request hangs after connect."""
    with socket.socket() as listener:
        listener.bind((LOOPBACK, 0))
        listener.listen(64)
        yield f"http://{LOOPBACK}:{listener.getsockname()[1]}"


def _echo(connection: ServerConnection) -> None:
    """Says which path and Authorization header arrived, then echoes every message."""
    request = connection.request
    assert request is not None
    hello = {"path": request.path, "authorization": request.headers.get("authorization")}
    connection.send(json.dumps(hello))
    for message in connection:
        connection.send(message)


@pytest.fixture(scope="module")
def echo_backend() -> Iterator[str]:
    with serve(_echo, LOOPBACK, 0) as server:
        thread = threading.Thread(target=server.serve_forever, name="ws-echo", daemon=True)
        thread.start()
        yield f"http://{LOOPBACK}:{server.socket.getsockname()[1]}"
        server.shutdown()
        thread.join()


def _secret_file(directory: Path, stack: Platform, name: str) -> str:
    path = directory / name
    path.write_text(stack.secret(name))
    path.chmod(0o600)
    return str(path)


def _environment(stack: Platform, directory: Path, backends: dict[str, str]) -> dict[str, str]:
    redis_host, redis_port = proxied_address(stack, "redis")
    return {
        "SC_ENVIRONMENT": "test",
        "SC_SERVICE_NAME": "gateway",
        "SC_REQUEST_TIMEOUT_S": str(BUDGET_S),
        "SC_REDIS_HOST": redis_host,
        "SC_REDIS_PORT": str(redis_port),
        "SC_REDIS_PASSWORD_FILE": _secret_file(directory, stack, "redis_password"),
        "SC_JWT_SECRET_FILE": _secret_file(directory, stack, "jwt_secret"),
        "SC_AUTH_URL": stack.endpoint("auth").url or "",
        "SC_CORS_ORIGINS": CORS_ORIGIN,
        **backends,
    }


@pytest.fixture(scope="module")
def own_gateway(
    stack: Platform,
    hung_backend: str,
    echo_backend: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OwnGateway]:
    directory = tmp_path_factory.mktemp("own-gateway")
    backends = {
        "SC_VIDEO_URL": hung_backend,
        "SC_STORAGE_URL": f"http://{LOOPBACK}:{free_port()}",  # nothing listens: refused
        "SC_CHAT_URLS": echo_backend,
    }
    port = free_port()
    argv = [sys.executable, "-m", "secureconnect.gateway", "--host", LOOPBACK, "--port", str(port)]
    env = _environment(stack, directory, backends)
    process = ManagedProcess("own-gateway", argv, directory / "gateway.log", env=env)
    url = f"http://{LOOPBACK}:{port}"

    def healthy() -> bool:
        if not process.running:
            raise RuntimeError(f"own gateway exited:\n{process.log_tail()}")
        try:
            return httpx.get(f"{url}/health", timeout=1).status_code == 200
        except httpx.TransportError:  # not listening yet
            return False

    process.start()
    try:
        eventually(healthy, STARTUP_DEADLINE_S, what="own gateway /health")
        yield OwnGateway(url, BUDGET_S, CORS_ORIGIN)
    finally:
        process.stop()
