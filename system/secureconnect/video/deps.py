"""FastAPI dependencies of the video service, as Annotated aliases.

They take an `HTTPConnection`, so the same ones serve HTTP and WebSocket
routes, and are `async def` (no thread hop per dependency).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header
from minio import Minio
from starlette.requests import HTTPConnection

from secureconnect.common.clock import Clock
from secureconnect.common.errors import DomainError
from secureconnect.common.tokens import TokenVerifier, bearer_token
from secureconnect.video.recording import CallRecorder
from secureconnect.video.service import CallService
from secureconnect.video.settings import VideoSettings
from secureconnect.video.signaling import SignalingHub
from secureconnect.video.turn import TurnCredentials


@dataclass(frozen=True)
class VideoState:
    """Everything the routes reach, built once in the lifespan."""

    settings: VideoSettings
    calls: CallService
    hub: SignalingHub
    recorder: CallRecorder
    turn: TurnCredentials
    verifier: TokenVerifier
    clock: Clock
    #: Signs recording URLs for the endpoint clients see (None: the S3 client's own).
    presigner: Minio | None


async def get_state(connection: HTTPConnection) -> VideoState:
    return connection.app.state.video


State = Annotated[VideoState, Depends(get_state)]


async def get_calls(state: State) -> CallService:
    return state.calls


CallServiceDep = Annotated[CallService, Depends(get_calls)]


async def user_of_token(state: VideoState, token: str) -> uuid.UUID:
    claims = await state.verifier.verify(token)
    try:
        return uuid.UUID(claims.sub)
    except ValueError as exc:
        raise DomainError(401, "invalid_token", "the token's subject is not a user id") from exc


async def current_user(
    state: State, authorization: Annotated[str | None, Header()] = None
) -> uuid.UUID:
    return await user_of_token(state, bearer_token(authorization))


CurrentUser = Annotated[uuid.UUID, Depends(current_user)]
