"""The video service's state and the FastAPI dependencies of its routes (Annotated
aliases; the caller's identity is common/deps.py's `CurrentUser`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from minio import Minio

from secureconnect.common.clock import Clock
from secureconnect.common.deps import state_dependency
from secureconnect.common.tokens import TokenVerifier
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


State = Annotated[VideoState, Depends(state_dependency(VideoState))]


async def get_calls(state: State) -> CallService:
    return state.calls


CallServiceDep = Annotated[CallService, Depends(get_calls)]
