"""Where the stack runs: local processes, containers (harness.platform.docker), or a
deployment the harness did not start, described by a stack file (harness.platform.attach)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import ConfigError
from harness.platform.attach import AttachPlatform, load_stack_file
from harness.platform.local import LocalPlatform, ProgressCallback, default_components

if TYPE_CHECKING:
    from harness.platform.docker import DockerPlatform

BACKENDS = ("local", "docker", "attach")


def check_backend(
    backend: str, stack_file: Path | None = None, services: list[str] | None = None
) -> None:
    """A ConfigError unless `backend` exists, --stack comes exactly with attach (and its
    file is valid), and --service only with a backend that starts the stack."""
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; available: {', '.join(BACKENDS)}")
    if backend != "attach":
        if stack_file is not None:
            raise ConfigError(f"--stack is for --backend attach; {backend} starts its own stack")
        return
    if stack_file is None:
        raise ConfigError("--backend attach needs --stack FILE: the deployment to judge")
    if services:
        raise ConfigError(
            "--service is for a stack the harness starts; the stack file says what runs"
        )
    load_stack_file(stack_file)


def create_platform(
    backend: str,
    services: list[str] | None = None,
    progress: ProgressCallback | None = None,
    stack_file: Path | None = None,
) -> LocalPlatform | DockerPlatform | AttachPlatform:
    """The platform of `backend`, not started; a ConfigError names what is wrong (see
    check_backend)."""
    check_backend(backend, stack_file, services)
    if backend == "attach":
        assert stack_file is not None
        return AttachPlatform(stack_file)
    if backend == "docker":
        # Imported here: testcontainers and the docker SDK only when asked for.
        from harness.platform.docker import DockerPlatform

        return DockerPlatform(services=services, progress=progress)
    return LocalPlatform(components=default_components(services), progress=progress)
