"""Gateway routes: the WebSocket relays (HTTP is proxied by `proxy.ProxyMiddleware`)."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from secureconnect.common.errors import DomainError
from secureconnect.gateway.deps import ClientAddress, GatewayServiceDep
from secureconnect.gateway.websocket import CLOSE_POLICY_VIOLATION, relay, upstream_ws_url

router = APIRouter()


async def _relay_to(
    upstream_name: str, websocket: WebSocket, service: GatewayServiceDep, client: str
) -> None:
    try:
        await service.admit(client, websocket.headers.get("authorization"))
        instances = service.upstreams[upstream_name].candidates()
    except DomainError as exc:
        await websocket.accept()
        await websocket.close(code=CLOSE_POLICY_VIOLATION, reason=exc.message[:120])
        return
    query = websocket.scope.get("query_string", b"").decode("latin-1")
    urls = [upstream_ws_url(i.url, websocket.url.path, query) for i in instances]
    await relay(websocket, upstream_name, urls, client)


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
