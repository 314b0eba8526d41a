"""The auth service's state and the FastAPI dependencies of its routes (Annotated
aliases; the caller's token is common/deps.py's `CurrentClaims`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from secureconnect.auth.service import AuthService
from secureconnect.auth.settings import AuthSettings
from secureconnect.common.deps import state_dependency
from secureconnect.common.request_info import client_address
from secureconnect.common.tokens import TokenVerifier


@dataclass(frozen=True)
class AuthState:
    """Everything the routes reach, built once in the lifespan."""

    auth: AuthService
    verifier: TokenVerifier
    settings: AuthSettings


State = Annotated[AuthState, Depends(state_dependency(AuthState))]


async def get_auth(state: State) -> AuthService:
    return state.auth


AuthServiceDep = Annotated[AuthService, Depends(get_auth)]


async def get_client_address(connection: HTTPConnection, state: State) -> str:
    return client_address(connection, state.settings.trusted_proxies)


ClientAddress = Annotated[str, Depends(get_client_address)]
