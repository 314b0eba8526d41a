"""Real servers for the integration tests: PostgreSQL (TLS), Redis, SMTP, services.

Temporary directories, free ports, everything stopped at teardown. This is
a stand-in until the harness's LocalPlatform fixture replaces it.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import httpx
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

PG_BIN = Path("/usr/lib/postgresql/15/bin")
STARTUP_DEADLINE_S = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, deadline_s: float, what: str, interval_s: float = 0.05):  # noqa: ANN001
    """Poll `condition` until truthy; its value is returned. Raises on deadline."""
    end = time.monotonic() + deadline_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            raise TimeoutError(f"{what} not reached within {deadline_s}s")
        time.sleep(interval_s)


def _cert(subject: str, key, issuer=None, issuer_key=None, *, ca: bool):  # noqa: ANN001, ANN202
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        import ipaddress

        san = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(issuer_key or key, hashes.SHA256())


def write_tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """(ca.pem, server.crt, server.key): a CA and a server cert for 127.0.0.1/localhost."""
    ca_key, server_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca = _cert("test-ca", ca_key, ca=True)
    server = _cert("localhost", server_key, ca, ca_key, ca=False)
    pem = serialization.Encoding.PEM
    paths = directory / "ca.pem", directory / "server.crt", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(pem))
    paths[1].write_bytes(server.public_bytes(pem))
    paths[2].write_bytes(
        server_key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


@dataclass
class Postgres:
    root: Path
    password: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    def start(self) -> None:
        shutil.chown(self.root, "postgres", "postgres")
        data = self.root / "data"
        ca, crt, key = write_tls_files(self.root)
        for path in (crt, key):
            shutil.chown(path, "postgres", "postgres")
        key.chmod(0o600)
        self.ca_file = ca
        pg = {"user": "postgres", "group": "postgres"}
        subprocess.run(
            [PG_BIN / "initdb", "-D", data, "-U", "postgres", "--auth-local=trust", "-E", "UTF8"],
            check=True,
            capture_output=True,
            **pg,
        )
        (data / "pg_hba.conf").write_text(
            "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n"
        )
        settings = {
            "listen_addresses": "127.0.0.1",
            "ssl": "on",
            "ssl_cert_file": crt,
            "ssl_key_file": key,
            "fsync": "off",
            "synchronous_commit": "off",
        }
        options = [arg for k, v in settings.items() for arg in ("-c", f"{k}={v}")]
        command = [PG_BIN / "postgres", "-D", data, "-p", str(self.port), "-k", self.root]
        with open(self.root / "postgres.log", "wb") as log:  # the child keeps its own fd
            self.process = subprocess.Popen(
                command + options, stdout=subprocess.DEVNULL, stderr=log, **pg
            )
        wait_until(lambda: self.psql("SELECT 1").returncode == 0, STARTUP_DEADLINE_S, "postgres")
        self.psql(f"CREATE ROLE secureconnect LOGIN PASSWORD '{self.password}'", check=True)
        self.psql("CREATE DATABASE secureconnect OWNER secureconnect", check=True)

    def psql(
        self, sql: str, *, check: bool = False, database: str = "postgres"
    ) -> subprocess.CompletedProcess:
        target = ["-h", self.root, "-p", str(self.port), "-U", "postgres", "-d", database]
        return subprocess.run(
            [PG_BIN / "psql", *target, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
            user="postgres",
            capture_output=True,
            check=check,
        )

    def count(self, table: str) -> int:
        result = self.psql(f"SELECT count(*) FROM {table}", check=True, database="secureconnect")
        return int(result.stdout.strip())

    def stop(self) -> None:
        stop_process(self.process, signal.SIGINT)


@dataclass
class Redis:
    password: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--requirepass",
                self.password,
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: port_open(self.port), STARTUP_DEADLINE_S, "redis")

    def kill(self) -> None:
        """SIGKILL: the data (no persistence configured) is gone."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def pause(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        self.resume()
        stop_process(self.process)


class CapturedMail:
    """aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]


def start_smtp(port: int) -> tuple[Controller, CapturedMail]:
    mail = CapturedMail()
    controller = Controller(mail, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, mail


@dataclass
class Service:
    module: str
    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            self.module,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        with open(self.log_path, "wb") as log:  # the child keeps its own fd
            self.process = subprocess.Popen(
                command, env={**os.environ, **self.env}, stdout=log, stderr=subprocess.STDOUT
            )
        wait_until(self._healthy, STARTUP_DEADLINE_S, f"{self.module} /health")

    def _healthy(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"{self.module} exited: {self.log_path.read_text()[-2000:]}")
        try:
            return httpx.get(f"{self.url}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        stop_process(self.process)


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def stop_process(process: subprocess.Popen | None, sig: int = signal.SIGTERM) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
