"""An embedded, Toxiproxy-compatible fault-injection server.

The same HTTP API as Shopify's toxiproxy-server (2.x) and the same toxics,
implemented on asyncio so the harness can run it anywhere Python runs:
``python -m harness.toxiproxy.server --host 127.0.0.1 --port 8474``.
``EmbeddedToxiproxy`` runs it inside an existing event loop instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import uvicorn

from harness.toxiproxy.server.api import VERSION, create_app
from harness.toxiproxy.server.collection import ProxyCollection

__all__ = ["VERSION", "EmbeddedToxiproxy"]


#: How long the API keeps an idle client connection, seconds.
API_KEEPALIVE_S = 120


class _ApiServer(uvicorn.Server):
    """uvicorn without its signal handling: the process owner decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def install_signal_handlers(self) -> None:  # older uvicorn releases
        pass


class EmbeddedToxiproxy:
    """The API and its proxies, served by the running event loop."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8474) -> None:
        self.host = host
        self.port = port
        self.collection = ProxyCollection()
        self._api: _ApiServer | None = None
        self._serving: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self, proxies: list[object] | None = None) -> str:
        """Create ``proxies`` (a /populate body), then serve; returns the API's URL.

        Port 0 picks a free port; ``port`` and ``url`` show the real one.
        """
        if proxies is not None:
            await self.collection.populate(proxies)
        # Binding here, not in uvicorn, makes the port known and connectable
        # before this returns: early requests wait in the listen backlog.
        sock = socket.create_server((self.host, self.port), backlog=128)
        self.port = sock.getsockname()[1]
        settings = uvicorn.Config(
            create_app(self.collection),
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            # Toxiproxy's own API keeps idle connections open; uvicorn's 5 s default
            # would race clients that keep theirs as long (harness/keepalive.py).
            timeout_keep_alive=API_KEEPALIVE_S,
        )
        self._api = _ApiServer(settings)
        self._serving = asyncio.get_running_loop().create_task(self._api.serve(sockets=[sock]))
        return self.url

    async def stop(self) -> None:
        """Stop the API, then close every proxy and connection."""
        if self._api is not None and self._serving is not None:
            self._api.should_exit = True
            await self._serving
        self._api = self._serving = None
        await self.collection.close()
