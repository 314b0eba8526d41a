"""The gateway's HTTP proxying, as plain ASGI in front of FastAPI's router.

A request under `/api/v1/<prefix>` (API_PREFIXES) is admitted (rate limits),
forwarded and answered here, without FastAPI's routing, dependency injection
and exception middleware: on the proxy's hot path they cost a third of the
gateway's CPU per request. Everything else (probes, metrics, the WebSocket
relays) goes on to the router. The proxy sits inside the edge and boundary
middleware, so request ids, security headers, metrics, the time budget, the
body limit and the 500 on an unexpected error apply as to any route; its
metric label is the route template the router would have matched.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.requests import ClientDisconnect
from starlette.responses import Response, StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from secureconnect.common.deps import state_of
from secureconnect.common.errors import DomainError, error_response
from secureconnect.gateway.deps import GatewayState
from secureconnect.gateway.service import BUFFERED_BODY_BYTES, Answer, Outgoing
from secureconnect.gateway.upstreams import API_PREFIXES

API_ROOT = "/api/v1/"
PROXIED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
#: The request headers the proxy itself reads.
_READ_HEADERS = frozenset({b"authorization", b"content-length", b"transfer-encoding"})


@dataclass(frozen=True)
class ProxyRoute:
    """What the router would have put in `scope["route"]`: the template, for labels."""

    path: str
    upstream: str


#: By path prefix: the route of `/api/v1/<prefix>` and of `/api/v1/<prefix>/...`.
ROUTES: dict[str, tuple[ProxyRoute, ProxyRoute]] = {
    prefix: (
        ProxyRoute(f"{API_ROOT}{prefix}", upstream),
        ProxyRoute(f"{API_ROOT}{prefix}/{{rest:path}}", upstream),
    )
    for prefix, upstream in API_PREFIXES.items()
}


def proxy_route(path: str) -> ProxyRoute | None:
    """The proxy route `path` falls under, if any."""
    if not path.startswith(API_ROOT):
        return None
    prefix, deeper, _ = path[len(API_ROOT) :].partition("/")
    routes = ROUTES.get(prefix)
    return None if routes is None else routes[1 if deeper else 0]


class ProxyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = proxy_route(scope["path"]) if scope["type"] == "http" else None
        if route is None:
            return await self.app(scope, receive, send)
        scope["route"] = route
        if scope["method"] not in PROXIED_METHODS:
            return await _method_not_allowed()(scope, receive, send)
        try:
            answer = await _proxy(route, scope, receive)
        except DomainError as exc:
            response = error_response(exc.status, exc.code, exc.message, exc.retry_after)
            return await response(scope, receive, send)
        await _reply(answer, scope, receive, send)


def _method_not_allowed() -> Response:
    response = error_response(405, "method_not_allowed", "method not allowed")
    response.headers["Allow"] = ", ".join(PROXIED_METHODS)
    return response


async def _proxy(route: ProxyRoute, scope: Scope, receive: Receive) -> Answer:
    service = state_of(scope["app"], GatewayState).gateway
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    fields = {name: value for name, value in headers if name in _READ_HEADERS}
    client = (scope.get("client") or ("unknown",))[0]
    authorization = fields.get(b"authorization")
    await service.admit(client, None if authorization is None else authorization.decode("latin-1"))
    query = scope.get("query_string", b"")
    path = scope.get("raw_path") or scope["path"].encode()
    body, length = await _body(fields, receive)
    outgoing = Outgoing(
        method=scope["method"],
        target=path + b"?" + query if query else path,
        headers=headers,
        body=body,
        length=length,
        client=client,
    )
    return await service.forward(route.upstream, route.path, outgoing)


async def _reply(answer: Answer, scope: Scope, receive: Receive, send: Send) -> None:
    """A whole body in one message with its length, else streamed (with the upstream's
    length when it gave one) by Starlette, which stops when the client goes away."""
    if isinstance(answer.body, bytes):
        headers = answer.headers
        if answer.status >= 200 and answer.status not in (204, 304):
            headers = [*headers, (b"content-length", b"%d" % len(answer.body))]
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})
        return
    response = StreamingResponse(answer.body, status_code=answer.status)
    response.raw_headers.extend(answer.headers)
    if answer.length is not None:
        response.raw_headers.append((b"content-length", answer.length))
    await response(scope, receive, send)


async def _body(
    fields: dict[bytes, bytes], receive: Receive
) -> tuple[bytes | AsyncIterator[bytes], int | None]:
    """(body, declared length): a small body whole, a large one (or one of unknown
    length) as it arrives. A request without either framing header has no body."""
    declared = fields.get(b"content-length")
    if b"transfer-encoding" not in fields:
        if declared is None:
            return b"", None
        if int(declared) <= BUFFERED_BODY_BYTES:
            return await _whole(receive), None
    return _chunks(receive), None if declared is None else int(declared)


async def _whole(receive: Receive) -> bytes:
    pieces = []
    async for piece in _chunks(receive):
        pieces.append(piece)
    return b"".join(pieces)


async def _chunks(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return
