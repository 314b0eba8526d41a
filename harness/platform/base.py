"""The platform contract: what scenarios may do to a running stack, whatever runs it."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, TypeVar

from harness.errors import StartupError
from harness.platform.process import ResourceSample
from harness.platform.stackfile import ComponentInfo, StackInfo
from harness.toxiproxy.client import ToxiproxyClient

__all__ = [
    "SERVICE_NAMES",
    "ComponentInfo",
    "Platform",
    "StackInfo",
    "services_of",
    "start_waves",
]


#: The SecureConnect services; chat may run as several instances (chat-1, chat-2...).
SERVICE_NAMES = ("gateway", "auth", "chat", "video", "storage", "backup")


def services_of(platform: Platform) -> list[str]:
    """The SecureConnect services running in this stack (gateway included)."""
    return [n for n in platform.names() if n.split("-")[0] in SERVICE_NAMES]


class Dependent(Protocol):
    name: str
    depends_on: tuple[str, ...]


D = TypeVar("D", bound=Dependent)


def start_waves(items: list[D], only_known: bool = False) -> list[list[D]]:
    """Group items into waves that can start together, each after the waves it depends on.

    `only_known` ignores dependencies on names that are not among `items` (a stack
    started without some service)."""
    known = {item.name for item in items}
    done: set[str] = set()
    pending, waves = list(items), []
    while pending:
        wave = [
            i
            for i in pending
            if (set(i.depends_on) & known if only_known else set(i.depends_on)) <= done
        ]
        if not wave:
            names = ", ".join(i.name for i in pending)
            raise StartupError(names, "dependency cycle or unknown dependency")
        waves.append(wave)
        done |= {i.name for i in wave}
        pending = [i for i in pending if i.name not in done]
    return waves


class Platform(Protocol):
    """Runs the stack, or attaches to one: local processes, Docker containers and a
    deployment described by a stack file (attach) implement it. An operation the
    stack does not allow raises NotGranted: the check that needed it is not run."""

    backend: str

    @property
    def toxiproxy(self) -> ToxiproxyClient: ...

    def up(self) -> StackInfo: ...

    def down(self) -> None: ...

    def info(self) -> StackInfo: ...

    def __enter__(self) -> Platform: ...

    def __exit__(self, *_exc: object) -> None: ...

    def start(self, component: str) -> None: ...

    def stop(self, component: str) -> None: ...

    def kill(self, component: str) -> None: ...

    def pause(self, component: str) -> None: ...

    def resume(self, component: str) -> None: ...

    def restart(self, component: str) -> None: ...

    def endpoint(self, component: str) -> ComponentInfo: ...

    def names(self) -> list[str]: ...

    def probe(self, component: str) -> None: ...

    def secret(self, name: str) -> str: ...

    def ca_certificate(self) -> Path: ...

    def stats(self, component: str) -> ResourceSample: ...

    def restarts(self, component: str) -> int: ...

    def logs(self, component: str) -> str: ...

    def save_logs(self, target: Path) -> None:
        """Every component log this platform can read into `target`, one file each,
        before `down` (the report keeps them)."""
        ...
