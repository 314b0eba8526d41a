"""Run the embedded Toxiproxy-compatible server in the foreground.

    python -m harness.toxiproxy.server --host 127.0.0.1 --port 8474

It stops cleanly (listeners and connections closed, exit status 0) on
SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from harness.toxiproxy.server import EmbeddedToxiproxy

log = logging.getLogger("harness.toxiproxy.server")


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m harness.toxiproxy.server",
        description="Toxiproxy-compatible fault-injection proxy server.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="API address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8474, help="API port (default 8474)")
    parser.add_argument("--config", type=Path, help="JSON list of proxies to create at start")
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    return parser.parse_args(argv)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    try:
        import uvloop
    except ImportError:  # the standard loop works, only slower
        return asyncio.new_event_loop
    return uvloop.new_event_loop


async def _serve(args: argparse.Namespace, proxies: list[object] | None) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    server = EmbeddedToxiproxy(args.host, args.port)
    url = await server.start(proxies)
    log.info("toxiproxy-compatible API listening on %s", url)
    await stop.wait()
    log.info("shutting down")
    await server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    proxies = json.loads(args.config.read_text()) if args.config else None
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(_serve(args, proxies))


if __name__ == "__main__":
    sys.exit(main())
