"""FastAPI dependencies of the storage service, as Annotated aliases."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Header, Request

from secureconnect.common.errors import DomainError
from secureconnect.common.tokens import TokenVerifier, bearer_token
from secureconnect.storage.service import StorageService


async def get_storage_service(request: Request) -> StorageService:
    return request.app.state.storage_service


StorageServiceDep = Annotated[StorageService, Depends(get_storage_service)]


async def current_user(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> uuid.UUID:
    verifier: TokenVerifier = request.app.state.token_verifier
    claims = await verifier.verify(bearer_token(authorization))
    try:
        return uuid.UUID(claims.sub)
    except ValueError as exc:
        raise DomainError(401, "invalid_token", "the token's subject is not a user id") from exc


CurrentUser = Annotated[uuid.UUID, Depends(current_user)]
