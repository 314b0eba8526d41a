"""Gateway routes: one catch-all per public prefix, and the WebSocket relays."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import APIRouter, Request, Response, WebSocket
from starlette.responses import StreamingResponse

from secureconnect.common.errors import DomainError
from secureconnect.common.middleware import route_of
from secureconnect.gateway.deps import ClientAddress, GatewayServiceDep
from secureconnect.gateway.service import BUFFERED_BODY_BYTES, Answer, Outgoing
from secureconnect.gateway.upstreams import API_PREFIXES
from secureconnect.gateway.websocket import CLOSE_POLICY_VIOLATION, relay, upstream_ws_url

PROXIED_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

router = APIRouter()


def _proxy_to(upstream: str) -> Callable[..., Awaitable[Response]]:
    async def proxy(
        request: Request, service: GatewayServiceDep, client: ClientAddress
    ) -> Response:
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
        answer = await service.forward(upstream, route_of(request.scope), outgoing)
        return _response(answer)

    return proxy


def _response(answer: Answer) -> Response:
    """A whole body in one piece (its length Starlette's to set), else streamed with the
    upstream's length."""
    whole = isinstance(answer.body, bytes)
    if isinstance(answer.body, bytes):
        response: Response = Response(content=answer.body, status_code=answer.status)
    else:
        response = StreamingResponse(answer.body, status_code=answer.status)
    response.raw_headers.extend(
        (k.encode("latin-1"), v.encode("latin-1"))
        for k, v in answer.headers
        if not (whole and k.lower() == "content-length")
    )
    return response


async def _body(request: Request) -> bytes | AsyncIterator[bytes]:
    """A small body whole, a large one (or one of unknown length) as it arrives."""
    length = request.headers.get("content-length")
    chunked = "transfer-encoding" in request.headers
    if not chunked and (length is None or int(length) <= BUFFERED_BODY_BYTES):
        return await request.body()
    return request.stream()


for prefix, upstream_name in API_PREFIXES.items():
    endpoint = _proxy_to(upstream_name)
    for path in (f"/api/v1/{prefix}", f"/api/v1/{prefix}/{{rest:path}}"):
        router.add_api_route(path, endpoint, methods=PROXIED_METHODS, include_in_schema=False)


async def _relay_to(
    upstream_name: str, websocket: WebSocket, service: GatewayServiceDep, client: str
) -> None:
    try:
        await service.admit(client, websocket.headers.get("authorization"))
        base = service.upstreams[upstream_name].pick()
    except DomainError as exc:
        await websocket.accept()
        await websocket.close(code=CLOSE_POLICY_VIOLATION, reason=exc.message[:120])
        return
    query = websocket.scope.get("query_string", b"").decode("latin-1")
    await relay(websocket, upstream_ws_url(base, websocket.url.path, query), client)


@router.websocket("/ws")
async def chat_events(
    websocket: WebSocket, service: GatewayServiceDep, client: ClientAddress
) -> None:
    await _relay_to("chat", websocket, service, client)


@router.websocket("/ws/calls/{call_id}")
async def call_signaling(
    websocket: WebSocket, call_id: str, service: GatewayServiceDep, client: ClientAddress
) -> None:
    await _relay_to("video", websocket, service, client)
