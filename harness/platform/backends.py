"""Where the stack runs: local processes, the shipped compose deployment as containers
(harness.platform.docker; `docker` is its older name), or a deployment the harness did
not start, described by a stack file (harness.platform.attach).

Callers name a backend and get a `Platform`; what differs between backends (whether it
starts the stack, whether that stack can outlive the command) is said here, once, so
the CLI and the runner never branch on a backend's name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ConfigError
from harness.platform.attach import AttachPlatform, load_stack_file
from harness.platform.base import Platform
from harness.platform.local import LocalPlatform, ProgressCallback, default_components

#: Called with a component's name when the platform restarted it on its own.
OnRestart = Callable[[str], None]


@dataclass(frozen=True)
class Wanted:
    """What the caller asks of a platform; each backend takes what applies to it."""

    services: list[str] | None
    progress: ProgressCallback | None
    stack_file: Path | None
    on_restart: OnRestart | None


@dataclass(frozen=True)
class Backend:
    name: str
    #: False: it judges a deployment that is already up (and needs --stack).
    starts_stack: bool
    #: `readiness up --detach`: the stack outlives the command (a supervisor process).
    detaches: bool
    make: Callable[[Wanted], Platform]


def _local(wanted: Wanted) -> Platform:
    return LocalPlatform(
        components=default_components(wanted.services),
        progress=wanted.progress,
        on_restart=wanted.on_restart,
    )


def _compose(wanted: Wanted) -> Platform:
    # Imported here: testcontainers and the docker SDK only when asked for.
    from harness.platform.docker import DockerPlatform

    return DockerPlatform(services=wanted.services, progress=wanted.progress)


def _attach(wanted: Wanted) -> Platform:
    assert wanted.stack_file is not None
    return AttachPlatform(wanted.stack_file)


_BY_NAME = {
    b.name: b
    for b in (
        Backend("local", starts_stack=True, detaches=True, make=_local),
        Backend("compose", starts_stack=True, detaches=False, make=_compose),
        Backend("docker", starts_stack=True, detaches=False, make=_compose),
        Backend("attach", starts_stack=False, detaches=False, make=_attach),
    )
}
BACKENDS = tuple(_BY_NAME)


def backend_named(name: str) -> Backend:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ConfigError(f"unknown backend {name!r}; available: {', '.join(BACKENDS)}") from None


def check_backend(
    backend: str, stack_file: Path | None = None, services: list[str] | None = None
) -> Backend:
    """The backend, or a ConfigError unless it exists, --stack comes exactly with a backend
    that judges a running deployment (and its file is valid), and --service only with a
    backend that starts the stack."""
    chosen = backend_named(backend)
    if chosen.starts_stack:
        if stack_file is not None:
            raise ConfigError(f"--stack is for --backend attach; {backend} starts its own stack")
        return chosen
    if stack_file is None:
        raise ConfigError(f"--backend {backend} needs --stack FILE: the deployment to judge")
    if services:
        raise ConfigError(
            "--service is for a stack the harness starts; the stack file says what runs"
        )
    load_stack_file(stack_file)
    return chosen


def create_platform(
    backend: str,
    services: list[str] | None = None,
    progress: ProgressCallback | None = None,
    stack_file: Path | None = None,
    on_restart: OnRestart | None = None,
) -> Platform:
    """The platform of `backend`, not started; a ConfigError names what is wrong (see
    check_backend). `on_restart` hears of the components a platform restarts itself."""
    chosen = check_backend(backend, stack_file, services)
    return chosen.make(Wanted(services, progress, stack_file, on_restart))
