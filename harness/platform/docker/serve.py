"""`readiness up --backend docker`: the stack as containers until Ctrl-C or SIGTERM."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path

from harness.platform.base import StackInfo
from harness.platform.docker.platform import DockerPlatform, ProgressCallback


def _raise_interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def serve_foreground(
    state_file: Path,
    progress: ProgressCallback | None = None,
    on_up: Callable[[StackInfo], None] | None = None,
    stop: threading.Event | None = None,
    services: list[str] | None = None,
) -> None:
    """Bring the stack up, write the state file, wait for Ctrl-C or SIGTERM, tear down."""
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    platform = DockerPlatform(services=services, progress=progress)
    try:
        info = platform.up()
        info.write(state_file)
        if on_up is not None:
            on_up(info)
        (stop or threading.Event()).wait()
    except KeyboardInterrupt:
        pass
    finally:
        platform.down()
        state_file.unlink(missing_ok=True)
        signal.signal(signal.SIGTERM, previous)
