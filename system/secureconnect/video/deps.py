"""The video service's state and the FastAPI dependencies of its routes (Annotated
aliases; the caller's identity is common/deps.py's `CurrentUser`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from secureconnect.common.clock import Clock
from secureconnect.common.deps import state_dependency
from secureconnect.common.tokens import TokenVerifier
from secureconnect.video.recording import CallRecorder
from secureconnect.video.service import CallService
from secureconnect.video.signaling import SignalingHub


@dataclass(frozen=True)
class VideoState:
    """Everything the routes reach, built once in the lifespan."""

    calls: CallService
    hub: SignalingHub
    #: For the test environments' debug route (debug.py).
    recorder: CallRecorder
    verifier: TokenVerifier
    clock: Clock


State = Annotated[VideoState, Depends(state_dependency(VideoState))]


async def get_calls(state: State) -> CallService:
    return state.calls


CallServiceDep = Annotated[CallService, Depends(get_calls)]
