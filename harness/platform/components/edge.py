"""Toxiproxy, the mail/webhook capture server and the TURN server."""

from __future__ import annotations

import shutil
import sys

from harness.platform import probes
from harness.platform.binaries import find
from harness.platform.components.base import LocalComponent
from harness.platform.ports import free_port, free_port_range
from harness.platform.runtime import RunContext

TURN_REALM = "secureconnect.local"
TURN_RELAY_PORTS = 50
TURN_PROBE_USER = "readiness-probe"


class Toxiproxy(LocalComponent):
    """The real `toxiproxy-server` when it is on PATH, else the embedded compatible one."""

    name = "toxiproxy"

    def argv(self, run: RunContext) -> list[str]:
        real = shutil.which("toxiproxy-server")
        if real is not None:
            return [real, "-host", self.host, "-port", str(self.port)]
        return [
            sys.executable,
            "-m",
            "harness.toxiproxy.server",
            "--host",
            self.host,
            "--port",
            str(self.port),
        ]

    def url(self) -> str:
        return f"http://{self.address}"

    def probe(self, run: RunContext) -> None:
        probes.http_ok(f"{self.url()}/version")


class Capture(LocalComponent):
    """SMTP capture plus a webhook sink; `port` is its HTTP API, `smtp_port` takes mail."""

    name = "capture"

    def __init__(self) -> None:
        super().__init__()
        self.smtp_port = free_port()

    def argv(self, run: RunContext) -> list[str]:
        return [
            sys.executable,
            "-m",
            "harness.platform.capture",
            "--host",
            self.host,
            "--smtp-port",
            str(self.smtp_port),
            "--http-port",
            str(self.port),
            "--dir",
            str(run.data_dir(self.name)),
        ]

    def url(self) -> str:
        return f"http://{self.address}"

    @property
    def smtp_address(self) -> str:
        return f"{self.host}:{self.smtp_port}"

    def probe(self, run: RunContext) -> None:
        probes.http_ok(f"{self.url()}/health")
        probes.tcp(self.host, self.smtp_port)


class Coturn(LocalComponent):
    """coturn with the TURN REST-secret scheme (`use-auth-secret`)."""

    name = "coturn"

    def prepare(self, run: RunContext) -> None:
        low, high = free_port_range(TURN_RELAY_PORTS)
        self.relay_ports = range(low, high + 1)
        self.config = run.config_path("turnserver.conf")
        # The shared secret lives in a 0600 config file, never on the command line.
        self.config.write_text(
            "\n".join(
                [
                    f"listening-ip={self.host}",
                    f"relay-ip={self.host}",
                    f"listening-port={self.port}",
                    f"min-port={low}",
                    f"max-port={high}",
                    "use-auth-secret",
                    f"static-auth-secret={run.secret('turn_secret')}",
                    f"realm={TURN_REALM}",
                    "fingerprint",
                    "no-tls",
                    "no-dtls",
                    "no-cli",
                    "allow-loopback-peers",
                    "log-file=stdout",
                    "simple-log",
                    f"pidfile={run.data_dir(self.name) / 'turnserver.pid'}",
                    f"userdb={run.data_dir(self.name) / 'turndb'}",
                    "no-software-attribute",
                ]
            )
            + "\n"
        )
        self.config.chmod(0o600)

    def argv(self, run: RunContext) -> list[str]:
        return [find("turnserver", self.name), "-c", str(self.config)]

    def probe(self, run: RunContext) -> None:
        """Authenticate with freshly generated credentials, as the service will."""
        username, password = probes.turn_credentials(
            run.secret("turn_secret"), TURN_PROBE_USER, probes.TURN_PROBE_CREDENTIAL_TTL_S
        )
        probes.turn_allocate(self.host, self.port, username, password)
