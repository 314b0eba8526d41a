"""The gateway's state and the FastAPI dependencies of its routes, as Annotated aliases.

The proxy (plain ASGI, proxy.py) reads the same state through `state_of`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from secureconnect.common.deps import state_dependency
from secureconnect.gateway.service import GatewayService


@dataclass(frozen=True)
class GatewayState:
    """Everything the routes and the proxy reach, built once in the lifespan."""

    gateway: GatewayService


State = Annotated[GatewayState, Depends(state_dependency(GatewayState))]


async def get_gateway(state: State) -> GatewayService:
    return state.gateway


GatewayServiceDep = Annotated[GatewayService, Depends(get_gateway)]


def client_address(connection: HTTPConnection) -> str:
    """The gateway is the edge: the peer address is the client."""
    return connection.client.host if connection.client else "unknown"


async def get_client_address(connection: HTTPConnection) -> str:
    return client_address(connection)


ClientAddress = Annotated[str, Depends(get_client_address)]
