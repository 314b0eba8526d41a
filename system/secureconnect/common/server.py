"""`python -m secureconnect.<service> --host H --port P`: one uvicorn worker."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import TypeVar

import uvicorn
from fastapi import FastAPI

from secureconnect.common.logging import configure_logging
from secureconnect.common.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)

#: Time given to in-flight requests on SIGTERM, seconds.
GRACEFUL_SHUTDOWN_S = 5


def serve(
    settings_factory: Callable[[], S],
    app_factory: Callable[[S], FastAPI],
    argv: Sequence[str] | None = None,
) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    settings = settings_factory()
    configure_logging(settings.service_name, settings.log_level)
    uvicorn.run(
        app_factory(settings),
        host=args.host,
        port=args.port,
        workers=1,
        log_config=None,
        access_log=False,
        # The client's address is the peer's: uvicorn would otherwise take it from
        # X-Forwarded-For of any loopback peer, so at the gateway (the edge) a local
        # client could pick its own address for the per-address rate limit. Services
        # behind the gateway read the header themselves, from trusted proxies only
        # (request_info.py).
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
