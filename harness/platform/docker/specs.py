"""What one container of the stack is: image, command, mounts, limits, health check.

A ContainerSpec is plain data; `engine.create()` turns it into a testcontainers
DockerContainer. Host paths are bind-mounted read-only; secrets are files
mounted at /run/secrets/<name>, as Docker secrets are in compose.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

NANOSECONDS = 1_000_000_000
SECRETS_DIR = "/run/secrets"
DEFAULT_STARTUP_DEADLINE_S = 90.0


@dataclass(frozen=True)
class Healthcheck:
    """A Docker health check; `test` is CMD or CMD-SHELL form, like compose's."""

    test: tuple[str, ...]
    interval_s: float = 3.0
    timeout_s: float = 3.0
    retries: int = 3
    start_period_s: float = 30.0

    @classmethod
    def shell(cls, command: str, **timing: float) -> Healthcheck:
        return cls(("CMD-SHELL", command), **timing)  # type: ignore[arg-type]

    def to_api(self) -> dict[str, object]:
        return {
            "test": list(self.test),
            "interval": int(self.interval_s * NANOSECONDS),
            "timeout": int(self.timeout_s * NANOSECONDS),
            "retries": self.retries,
            "start_period": int(self.start_period_s * NANOSECONDS),
        }


@dataclass(frozen=True)
class Port:
    """A container port published on 127.0.0.1:host_port (chosen at start-up)."""

    container: int
    host: int
    protocol: str = "tcp"

    @property
    def key(self) -> str:
        return f"{self.container}/{self.protocol}"


@dataclass
class ContainerSpec:
    """One component as a container on the run's private network (alias = name)."""

    name: str
    image: str
    command: list[str] | None = None
    entrypoint: list[str] | None = None
    env: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    #: host path -> container path, read-only bind mounts.
    mounts: dict[str, str] = field(default_factory=dict)
    #: Secret names, each mounted at /run/secrets/<name>.
    secrets: tuple[str, ...] = ()
    #: Named volumes of this run: volume suffix -> container path (data that survives
    #: a restart of the container, removed with the run).
    volumes: dict[str, str] = field(default_factory=dict)
    tmpfs: tuple[str, ...] = ()
    #: The main port first: endpoint() reports its host address.
    ports: list[Port] = field(default_factory=list)
    healthcheck: Healthcheck | None = None
    mem_limit: str = "256m"
    cpus: float = 0.5
    restart: str = "unless-stopped"
    depends_on: tuple[str, ...] = ()
    #: Runs to completion (migrations): no health check, no restart, removed after.
    oneshot: bool = False
    #: The component speaks HTTP on its main port.
    http: bool = False
    #: Host-side readiness probe (raises until ready), run after the health check.
    probe: Callable[[], None] | None = None
    #: Toxiproxy proxy in front of it: (proxy name, listen port inside Toxiproxy).
    proxy_port: int | None = None
    startup_deadline_s: float = DEFAULT_STARTUP_DEADLINE_S
    extra: dict[str, str] = field(default_factory=dict)
    #: More names other containers reach it by (a scaled service's shared name).
    aliases: tuple[str, ...] = ()
    #: Labels of its own (the harness adds the run's).
    labels: dict[str, str] = field(default_factory=dict)
    #: Further docker SDK run options from its compose service (read_only, cap_drop,
    #: security_opt, pids_limit, shm_size, mem_reservation, log_config...).
    docker_options: dict[str, Any] = field(default_factory=dict)

    @property
    def main_port(self) -> Port | None:
        return self.ports[0] if self.ports else None

    def port(self, container_port: int, protocol: str = "tcp") -> Port:
        for port in self.ports:
            if port.container == container_port and port.protocol == protocol:
                return port
        raise KeyError(f"{self.name} publishes no {container_port}/{protocol}")

    @property
    def address(self) -> str:
        """Where the host reaches the main port."""
        port = self.main_port
        return f"127.0.0.1:{port.host}" if port is not None else ""

    @property
    def url(self) -> str | None:
        return f"http://{self.address}" if self.http and self.main_port else None

    @property
    def network_address(self) -> str:
        """Where other containers reach the main port."""
        port = self.main_port
        return f"{self.name}:{port.container}" if port is not None else self.name
