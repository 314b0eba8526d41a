"""FastAPI dependencies of the gateway, as Annotated aliases.

They are `async def` on purpose: FastAPI runs plain functions on a thread
pool, a thread hop per dependency on the hot path.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from secureconnect.gateway.service import GatewayService


async def get_gateway_service(connection: HTTPConnection) -> GatewayService:
    return connection.app.state.gateway_service


GatewayServiceDep = Annotated[GatewayService, Depends(get_gateway_service)]


def client_address(connection: HTTPConnection) -> str:
    """The gateway is the edge: the peer address is the client."""
    return connection.client.host if connection.client else "unknown"


async def get_client_address(connection: HTTPConnection) -> str:
    return client_address(connection)


ClientAddress = Annotated[str, Depends(get_client_address)]
