"""The platform contract: what scenarios may do to a running stack, whatever runs it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from harness.errors import ConfigError, StartupError
from harness.faults.toxiproxy import ToxiproxyClient
from harness.platform.process import ResourceSample


@dataclass(frozen=True)
class ComponentInfo:
    """How to reach one component, and the Toxiproxy proxy in front of it if any."""

    name: str
    address: str
    url: str | None = None
    pid: int | None = None
    proxy_name: str | None = None
    proxy_listen: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class StackInfo:
    """The contents of `reports/stack.json`."""

    backend: str
    run_dir: str
    toxiproxy_api: str
    components: dict[str, ComponentInfo]
    gateway_url: str | None = None
    supervisor_pid: int | None = None
    state: str = "up"

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        tmp.replace(path)

    @classmethod
    def read(cls, path: Path) -> StackInfo:
        try:
            raw: dict[str, Any] = json.loads(path.read_text())
            components = {k: ComponentInfo(**v) for k, v in raw.pop("components").items()}
            return cls(components=components, **raw)
        except FileNotFoundError as exc:
            raise ConfigError(f"no stack state at {path}: is a stack up?") from exc
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ConfigError(f"stack state {path} is unreadable: {exc}") from exc


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
    """Runs the stack; local processes and Docker containers both implement it."""

    backend: str

    @property
    def toxiproxy(self) -> ToxiproxyClient: ...

    def up(self) -> StackInfo: ...

    def down(self) -> None: ...

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
