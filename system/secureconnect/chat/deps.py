"""The chat service's state and the FastAPI dependencies of its routes (Annotated
aliases; the caller's identity is common/deps.py's `CurrentUser`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from secureconnect.chat.fanout import EventBus
from secureconnect.chat.polls import PollService
from secureconnect.chat.service import ChatService
from secureconnect.chat.sockets import SocketService
from secureconnect.common.clock import Clock
from secureconnect.common.deps import state_dependency
from secureconnect.common.tokens import TokenVerifier


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


State = Annotated[ChatState, Depends(state_dependency(ChatState))]


async def get_chat(state: State) -> ChatService:
    return state.chat


async def get_polls(state: State) -> PollService:
    return state.polls


ChatServiceDep = Annotated[ChatService, Depends(get_chat)]
PollServiceDep = Annotated[PollService, Depends(get_polls)]
