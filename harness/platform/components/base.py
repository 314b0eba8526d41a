"""What every component of the local stack tells the platform about itself."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from harness.platform.ports import LOOPBACK, free_port
from harness.platform.runtime import RunContext

DEFAULT_STARTUP_DEADLINE_S = 30.0


@dataclass(frozen=True)
class ProxyRoute:
    """A Toxiproxy proxy that sits in front of a component."""

    name: str
    listen_port: int

    @property
    def listen(self) -> str:
        return f"{LOOPBACK}:{self.listen_port}"


class LocalComponent(ABC):
    """A program the local platform runs as a child process.

    Subclasses say how to prepare its files, how to run it, how to tell it is
    healthy and what to do once it is (create a database, a bucket...).
    """

    name: str
    #: A daemon that refuses root runs as this unprivileged user.
    user: str | None = None
    #: Components that must be healthy before this one starts.
    depends_on: tuple[str, ...] = ()
    #: Toxiproxy proxy name in front of this component, if services reach it through one.
    proxied: bool = False
    startup_deadline_s: float = DEFAULT_STARTUP_DEADLINE_S
    #: A set-up step with no process to keep running (see SetupStep).
    oneshot: bool = False

    def __init__(self) -> None:
        self.host = LOOPBACK
        self.port = free_port()
        self.proxy: ProxyRoute | None = ProxyRoute(self.name, free_port()) if self.proxied else None

    def prepare(self, run: RunContext) -> None:  # noqa: B027 - optional hook
        """Write configuration and data directories; runs once, before the first start."""

    @abstractmethod
    def argv(self, run: RunContext) -> list[str]: ...

    def env(self, run: RunContext) -> dict[str, str]:
        return {}

    @abstractmethod
    def probe(self, run: RunContext) -> None:
        """Raise (any exception, with a reason) until the component is ready."""

    def after_ready(self, run: RunContext) -> None:  # noqa: B027 - optional hook
        """One-time set-up once healthy for the first time (databases, buckets...)."""

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def url(self) -> str | None:
        """The component's HTTP URL, if it speaks HTTP."""
        return None

    def upstream_address(self) -> str:
        """Where clients should connect: through Toxiproxy when proxied."""
        return self.proxy.listen if self.proxy is not None else self.address


class SetupStep(LocalComponent):
    """A one-time step in the start order (migrations...): `prepare` does the work,
    no process is left running."""

    oneshot = True

    def argv(self, run: RunContext) -> list[str]:
        return []

    def probe(self, run: RunContext) -> None:
        return None
