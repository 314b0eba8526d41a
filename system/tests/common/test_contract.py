"""The published contract lists the WebSocket routes too (under `x-websockets`), so a
client or an audit reading /openapi.json sees every route a service answers."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, WebSocket
from secureconnect.common.app import create_app, no_resources
from secureconnect.common.settings import ServiceSettings
from secureconnect.gateway.app import create_gateway_app
from secureconnect.gateway.settings import GatewaySettings


async def test_websocket_routes_are_published_with_their_parameters() -> None:
    router = APIRouter()

    @router.websocket("/ws/things/{thing_id}")
    async def things(websocket: WebSocket, thing_id: str) -> None:
        await websocket.close()

    app = create_app(
        ServiceSettings(environment="test", service_name="contract-test"),
        lifespan=no_resources,
        routers=[router],
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        document = (await client.get("/openapi.json")).json()
    assert document["x-websockets"] == [
        {"path": "/ws/things/{thing_id}", "parameters": ["thing_id"]}
    ]


def test_the_gateway_publishes_the_sockets_it_relays() -> None:
    app = create_gateway_app(GatewaySettings(environment="test"))
    assert [w["path"] for w in app.openapi()["x-websockets"]] == ["/ws", "/ws/calls/{call_id}"]
