"""Serve a small ASGI app on a free loopback port for the length of a test."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from harness.platform.ports import LOOPBACK, free_port
from harness.waiting import eventually

STARTUP_DEADLINE_S = 10.0


@contextmanager
def served(app: Any) -> Iterator[str]:
    """The app's base URL while it runs in a thread of this process."""
    port = free_port()
    config = uvicorn.Config(app, host=LOOPBACK, port=port, log_level="error", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"asgi-{port}", daemon=True)

    def up_or_gone() -> bool:
        return server.started or not thread.is_alive()

    thread.start()
    try:
        eventually(up_or_gone, STARTUP_DEADLINE_S, what=f"the test app on port {port}")
        if not server.started:  # uvicorn logged why (a port taken, an import error)
            raise RuntimeError(f"the test app on port {port} stopped before it started")
        yield f"http://{LOOPBACK}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_DEADLINE_S)
