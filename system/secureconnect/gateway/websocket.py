"""WebSocket relay: client ⇄ gateway ⇄ upstream service (websockets library).

The upstream connection is opened first; only then is the client's
handshake accepted, so an unreachable service is a prompt close with 1013
(try again later) and an upstream refusal (e.g. bad token) a 1008. An
instance that cannot be connected to (refused, or its name gone with its
container) is passed over for the service's next one, as HTTP requests are
(counted in gateway_upstream_failovers_total); 1013 only when none can be.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from urllib.parse import urlsplit

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from secureconnect.common.logging import request_id_var
from secureconnect.gateway.metrics import UPSTREAM_FAILOVERS

log = logging.getLogger(__name__)

WS_OPEN_TIMEOUT_S = 5.0
WS_MAX_MESSAGE_BYTES = 1024 * 1024
CLOSE_NORMAL = 1000
CLOSE_NO_STATUS = 1005
CLOSE_POLICY_VIOLATION = 1008
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_BAD_GATEWAY = 1014
#: Reserved codes (RFC 6455 7.4.1): they describe a closure, a close frame may not carry them.
UNSENDABLE_CLOSE_CODES = frozenset({1005, 1006, 1015})
#: Client headers passed upstream on the handshake.
FORWARDED_WS_HEADERS = ("authorization", "origin", "user-agent")


def upstream_ws_url(base_http_url: str, path: str, query: str) -> str:
    base = base_http_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    return base + path + (f"?{query}" if query else "")


async def relay(websocket: WebSocket, upstream_name: str, urls: list[str], client: str) -> None:
    """Relay the client's socket to the first of `urls` (a service's instances, in
    turn) that can be connected to."""
    headers = [(k, websocket.headers[k]) for k in FORWARDED_WS_HEADERS if k in websocket.headers]
    headers += [("x-forwarded-for", client), ("x-request-id", request_id_var.get())]
    try:
        upstream = await open_first_reachable(upstream_name, urls, headers)
    except InvalidStatus as exc:
        await _refuse(
            websocket, CLOSE_POLICY_VIOLATION, f"upstream refused: {exc.response.status_code}"
        )
        return
    except (OSError, TimeoutError, InvalidHandshake) as exc:
        log.warning(
            "websocket upstream unreachable",
            extra={"upstream": upstream_name, "error": repr(exc)},
        )
        await _refuse(websocket, CLOSE_TRY_AGAIN_LATER, "service unavailable")
        return
    async with upstream:
        await websocket.accept(subprotocol=upstream.subprotocol)
        await _pump_both(websocket, upstream)


async def open_first_reachable(
    upstream_name: str, urls: list[str], headers: list[tuple[str, str]]
) -> ClientConnection:
    *others, last = urls
    for url in others:
        try:
            return await _open(url, headers)
        except TimeoutError:  # an instance that is there but slow: no second wait
            raise
        except OSError as exc:  # nothing reached the instance: the next one may answer
            UPSTREAM_FAILOVERS.labels(upstream_name).inc()
            log.warning(
                "websocket upstream instance unreachable, trying the next",
                # The instance only: the query string may carry the client's token.
                extra={
                    "upstream": upstream_name,
                    "instance": urlsplit(url).netloc,
                    "error": repr(exc),
                },
            )
    return await _open(last, headers)


async def _open(url: str, headers: list[tuple[str, str]]) -> ClientConnection:
    return await connect(
        url,
        additional_headers=headers,
        open_timeout=WS_OPEN_TIMEOUT_S,
        max_size=WS_MAX_MESSAGE_BYTES,
    )


async def _refuse(websocket: WebSocket, code: int, reason: str) -> None:
    await websocket.accept()
    await websocket.close(code=code, reason=reason)


async def _pump_both(websocket: WebSocket, upstream: ClientConnection) -> None:
    tasks = [
        asyncio.create_task(_client_to_upstream(websocket, upstream)),
        asyncio.create_task(_upstream_to_client(websocket, upstream)),
    ]
    _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    await upstream.close()
    if websocket.client_state is WebSocketState.CONNECTED:
        code, reason = relayed_close(upstream.close_code, upstream.close_reason)
        with suppress(RuntimeError, WebSocketDisconnect):  # the client may leave meanwhile
            await websocket.close(code=code, reason=reason)


def relayed_close(code: int | None, reason: str | None) -> tuple[int, str]:
    """The upstream's close code and reason for the client; codes that only
    describe a closure (no status, abnormal, TLS) cannot be sent in a frame."""
    if code is None or code == CLOSE_NO_STATUS:
        return CLOSE_NORMAL, ""
    if code in UNSENDABLE_CLOSE_CODES:
        return CLOSE_BAD_GATEWAY, "upstream connection lost"
    return code, reason or ""


async def _client_to_upstream(websocket: WebSocket, upstream: ClientConnection) -> None:
    with suppress(WebSocketDisconnect, ConnectionClosed):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                await upstream.send(message["text"])
            elif message.get("bytes") is not None:
                await upstream.send(message["bytes"])


async def _upstream_to_client(websocket: WebSocket, upstream: ClientConnection) -> None:
    with suppress(WebSocketDisconnect, ConnectionClosed, RuntimeError):
        async for data in upstream:
            if isinstance(data, str):
                await websocket.send_text(data)
            else:
                await websocket.send_bytes(data)
