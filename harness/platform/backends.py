"""Where the stack runs: local processes, or containers (harness.platform.docker)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.errors import ConfigError
from harness.platform.local import LocalPlatform, ProgressCallback, default_components

if TYPE_CHECKING:
    from harness.platform.docker import DockerPlatform

BACKENDS = ("local", "docker")


def create_platform(
    backend: str, services: list[str] | None = None, progress: ProgressCallback | None = None
) -> LocalPlatform | DockerPlatform:
    """The platform of `backend`, not started; a ConfigError names an unknown one."""
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; available: {', '.join(BACKENDS)}")
    if backend == "docker":
        # Imported here: testcontainers and the docker SDK only when asked for.
        from harness.platform.docker import DockerPlatform

        return DockerPlatform(services=services, progress=progress)
    return LocalPlatform(components=default_components(services), progress=progress)
