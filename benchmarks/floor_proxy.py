"""The floor of the gateway's architecture: uvicorn serving a bare ASGI app that
forwards each request with the gateway's own upstream pool, and nothing else (no
middleware, log line, metrics, rate limit, header hygiene or budget).

gateway_overhead.py serves it beside the gateway, against the same auth, and measures
its CPU per request in the same rounds: what the gateway costs above it is what its
own features cost; the floor itself is uvicorn's and asyncio's, which no change to
the gateway's code can take away.

    FLOOR_UPSTREAM=http://127.0.0.1:PORT python -m uvicorn floor_proxy:app ...
"""

from __future__ import annotations

import os

from secureconnect.gateway.transport import KeepAlivePool, Origin, Timeouts, UpstreamRequest
from starlette.types import Receive, Scope, Send

UPSTREAM = Origin.parse(os.environ.get("FLOOR_UPSTREAM", "http://127.0.0.1:1"))
pool = KeepAlivePool(100, 2.0, Timeouts(connect=5, read=10, write=10, pool=10))


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    target = scope["raw_path"]
    if scope["query_string"]:
        target += b"?" + scope["query_string"]
    headers = [(k, v) for k, v in scope["headers"] if k != b"host"]
    answer = await pool.exchange(UPSTREAM, UpstreamRequest(scope["method"], target, headers))
    assert isinstance(answer.body, bytes), "the floor proxy answers small bodies only"
    kept = [(k.lower(), v) for k, v in answer.headers if k.lower() not in (b"date", b"server")]
    await send({"type": "http.response.start", "status": answer.status, "headers": kept})
    await send({"type": "http.response.body", "body": answer.body})
