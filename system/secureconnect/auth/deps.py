"""FastAPI dependencies of the auth service, as Annotated aliases.

They are `async def` on purpose: FastAPI runs plain functions on a thread
pool, a thread hop per dependency on the hot path.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from secureconnect.auth.service import AuthService
from secureconnect.common.request_info import client_address
from secureconnect.common.tokens import AccessClaims, bearer_token


async def get_auth_service(request: Request) -> AuthService:
    return request.app.state.auth_service


AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]


async def current_claims(
    service: AuthServiceDep, authorization: Annotated[str | None, Header()] = None
) -> AccessClaims:
    return await service.verifier.verify(bearer_token(authorization))


CurrentClaims = Annotated[AccessClaims, Depends(current_claims)]


async def get_client_address(request: Request) -> str:
    return client_address(request, request.app.state.settings.trusted_proxies)


ClientAddress = Annotated[str, Depends(get_client_address)]
