"""The storage service's state and the FastAPI dependencies of its routes (Annotated
aliases; the caller's identity is common/deps.py's `CurrentUser`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from secureconnect.common.deps import state_dependency
from secureconnect.common.tokens import TokenVerifier
from secureconnect.storage.service import StorageService


@dataclass(frozen=True)
class StorageState:
    """Everything the routes reach, built once in the lifespan."""

    storage: StorageService
    verifier: TokenVerifier


State = Annotated[StorageState, Depends(state_dependency(StorageState))]


async def get_storage(state: State) -> StorageService:
    return state.storage


StorageServiceDep = Annotated[StorageService, Depends(get_storage)]
