"""`readiness up --backend docker`: the stack as containers until Ctrl-C or SIGTERM."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from harness.platform.base import StackInfo
from harness.platform.docker.platform import DockerPlatform, ProgressCallback
from harness.platform.supervisor import hold


def serve_foreground(
    state_file: Path,
    progress: ProgressCallback | None = None,
    on_up: Callable[[StackInfo], None] | None = None,
    stop: threading.Event | None = None,
    services: list[str] | None = None,
) -> None:
    """Bring the docker stack up and hold it (see `harness.platform.supervisor.hold`)."""
    hold(DockerPlatform(services=services, progress=progress), state_file, on_up, stop)
