"""FastAPI dependencies of the chat service, as Annotated aliases.

They take an `HTTPConnection`, so the same ones serve HTTP and WebSocket
routes, and are `async def` (no thread hop per dependency).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header
from starlette.requests import HTTPConnection

from secureconnect.chat.fanout import EventBus
from secureconnect.chat.polls import PollService
from secureconnect.chat.service import ChatService
from secureconnect.chat.sockets import SocketService
from secureconnect.common.clock import Clock
from secureconnect.common.errors import DomainError
from secureconnect.common.tokens import TokenVerifier, bearer_token


@dataclass(frozen=True)
class ChatState:
    """Everything the routes reach, built once in the lifespan."""

    chat: ChatService
    polls: PollService
    sockets: SocketService
    bus: EventBus
    verifier: TokenVerifier
    jwt_key: str
    clock: Clock


async def get_state(connection: HTTPConnection) -> ChatState:
    return connection.app.state.chat


State = Annotated[ChatState, Depends(get_state)]


async def get_chat(state: State) -> ChatService:
    return state.chat


async def get_polls(state: State) -> PollService:
    return state.polls


ChatServiceDep = Annotated[ChatService, Depends(get_chat)]
PollServiceDep = Annotated[PollService, Depends(get_polls)]


async def current_user(
    state: State, authorization: Annotated[str | None, Header()] = None
) -> uuid.UUID:
    claims = await state.verifier.verify(bearer_token(authorization))
    try:
        return uuid.UUID(claims.sub)
    except ValueError as exc:
        raise DomainError(401, "invalid_token", "the token's subject is not a user id") from exc


CurrentUser = Annotated[uuid.UUID, Depends(current_user)]
