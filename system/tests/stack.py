"""The whole local stack for tests and benchmarks: real PostgreSQL (TLS),
Redis, SMTP, migrations, auth and gateway as uvicorn subprocesses, plus a
hung backend (video), a dead one (storage) and a WebSocket echo backend
(chat) behind the gateway. A stand-in until the harness platform starts
the services itself."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from websockets.asyncio.server import ServerConnection, serve

from tests.servers import CapturedMail, Postgres, Redis, Service, free_port, start_smtp

#: Gateway budget in the test stack, seconds (kept short so 504 tests are quick).
GATEWAY_BUDGET_S = 2.0


@dataclass
class Stack:
    gateway: Service
    auth: Service
    postgres: Postgres
    redis: Redis
    mail: CapturedMail
    env: dict[str, str]
    jwt_secret: str


def _echo_backend(port: int) -> None:
    async def echo(connection: ServerConnection) -> None:
        request = connection.request
        assert request is not None
        hello = {"path": request.path, "authorization": request.headers.get("authorization")}
        await connection.send(json.dumps(hello))
        async for message in connection:
            await connection.send(message)

    async def main() -> None:
        async with serve(echo, "127.0.0.1", port) as server:
            await server.serve_forever()

    threading.Thread(target=asyncio.run, args=(main(),), daemon=True).start()


def _secret_file(directory: Path, name: str, value: str) -> str:
    path = directory / name
    path.write_text(value + "\n")
    return str(path)


def _common_env(
    secrets_dir: Path, postgres: Postgres, redis: Redis, smtp_port: int, jwt_secret: str
) -> dict[str, str]:
    """The SC_* contract every service reads (the harness platform passes the same)."""
    return {
        "SC_ENVIRONMENT": "test",
        "SC_DB_HOST": "127.0.0.1",
        "SC_DB_PORT": str(postgres.port),
        "SC_DB_NAME": "secureconnect",
        "SC_DB_USER": "secureconnect",
        "SC_DB_PASSWORD_FILE": _secret_file(secrets_dir, "db_password", postgres.password),
        "SC_DB_SSL_CA_FILE": str(postgres.ca_file),
        "SC_REDIS_HOST": "127.0.0.1",
        "SC_REDIS_PORT": str(redis.port),
        "SC_REDIS_PASSWORD_FILE": _secret_file(secrets_dir, "redis_password", redis.password),
        "SC_JWT_SECRET_FILE": _secret_file(secrets_dir, "jwt_secret", jwt_secret),
        "SC_SMTP_HOST": "127.0.0.1",
        "SC_SMTP_PORT": str(smtp_port),
        "SC_SMTP_FROM": "no-reply@secureconnect.test",
    }


def _start_services(
    root: Path, env: dict[str, str], backends: dict[str, str], services: list[Service]
) -> tuple[Service, Service]:
    subprocess.run(
        [sys.executable, "-m", "secureconnect.migrations", "upgrade"],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    auth = Service("secureconnect.auth", {**env, "SC_SERVICE_NAME": "auth"}, root / "auth.log")
    auth.start()
    services.append(auth)
    gateway_env = {
        **env,
        "SC_SERVICE_NAME": "gateway",
        "SC_AUTH_URL": auth.url,
        "SC_REQUEST_TIMEOUT_S": str(GATEWAY_BUDGET_S),
        "SC_CORS_ORIGINS": "https://app.secureconnect.test",
        **backends,
    }
    gateway = Service("secureconnect.gateway", gateway_env, root / "gateway.log")
    gateway.start()
    services.append(gateway)
    return auth, gateway


@contextmanager
def local_stack(gateway_overrides: dict[str, str] | None = None) -> Iterator[Stack]:
    """Everything the services need, then auth and gateway; all stopped on exit."""
    root = Path(tempfile.mkdtemp(prefix="sc-tests-"))
    root.chmod(0o711)  # the postgres user must traverse it
    (root / "pg").mkdir()
    secrets_dir = root / "secrets"
    secrets_dir.mkdir(mode=0o700)
    jwt_secret = secrets.token_urlsafe(48)
    postgres = Postgres(root / "pg", secrets.token_hex(16))
    redis = Redis(secrets.token_hex(16))
    smtp_port, echo_port = free_port(), free_port()
    hung = socket.socket()  # listens, never accepts: connections hang after connect
    hung.bind(("127.0.0.1", 0))
    hung.listen(64)
    backends = {
        "SC_CHAT_URLS": f"http://127.0.0.1:{echo_port}",
        "SC_VIDEO_URL": f"http://127.0.0.1:{hung.getsockname()[1]}",
        "SC_STORAGE_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens: refused
        **(gateway_overrides or {}),
    }
    smtp, mail = start_smtp(smtp_port)
    _echo_backend(echo_port)
    services: list[Service] = []
    try:
        postgres.start()
        redis.start()
        env = _common_env(secrets_dir, postgres, redis, smtp_port, jwt_secret)
        auth, gateway = _start_services(root, env, backends, services)
        yield Stack(gateway, auth, postgres, redis, mail, env, jwt_secret)
    finally:
        for service in reversed(services):
            service.stop()
        redis.stop()
        postgres.stop()
        smtp.stop()
        hung.close()
        shutil.rmtree(root, ignore_errors=True)
