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

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from secureconnect.common.deps import state_of
from secureconnect.common.errors import DomainError, error_response
from secureconnect.gateway.deps import GatewayState, client_address
from secureconnect.gateway.service import BUFFERED_BODY_BYTES, Answer, Outgoing
from secureconnect.gateway.upstreams import API_PREFIXES

API_ROOT = "/api/v1/"
PROXIED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


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
        try:
            response = await _proxy(route, Request(scope, receive))
        except DomainError as exc:
            response = error_response(exc.status, exc.code, exc.message, exc.retry_after)
        await response(scope, receive, send)


async def _proxy(route: ProxyRoute, request: Request) -> Response:
    if request.method not in PROXIED_METHODS:
        response = error_response(405, "method_not_allowed", "method not allowed")
        response.headers["Allow"] = ", ".join(PROXIED_METHODS)
        return response
    service = state_of(request.app, GatewayState).gateway
    client = client_address(request)
    await service.admit(client, request.headers.get("authorization"))
    query = request.scope.get("query_string", b"")
    path = request.scope.get("raw_path") or request.url.path.encode()
    outgoing = Outgoing(
        method=request.method,
        path_and_query=(path + (b"?" + query if query else b"")).decode("latin-1"),
        headers=request.headers.items(),
        body=await _body(request),
        client=client,
    )
    return _response(await service.forward(route.upstream, route.path, outgoing))


def _response(answer: Answer) -> Response:
    """A whole body in one piece (its length Starlette's to set), else streamed with the
    upstream's length."""
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers]
    if isinstance(answer.body, bytes):
        response: Response = Response(content=answer.body, status_code=answer.status)
        headers = [h for h in headers if h[0].lower() != b"content-length"]
    else:
        response = StreamingResponse(answer.body, status_code=answer.status)
    response.raw_headers.extend(headers)
    return response


async def _body(request: Request) -> bytes | AsyncIterator[bytes]:
    """A small body whole, a large one (or one of unknown length) as it arrives."""
    length = request.headers.get("content-length")
    chunked = "transfer-encoding" in request.headers
    if not chunked and (length is None or int(length) <= BUFFERED_BODY_BYTES):
        return await request.body()
    return request.stream()
