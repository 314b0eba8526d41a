"""WebSocket route `/ws/calls/{call_id}`: authenticate, authorize, read frames.

The token comes as the `token` query parameter or the Authorization header.
Refusals at connect time close the accepted socket with a code and a reason:
bad token 4401, no such call (or not yours) 4404, not joined 4409, call ended
4410. An open socket whose token is revoked or expires is closed with 4401
(signaling.py). Frame rules are in frames.py.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from starlette.websockets import WebSocket, WebSocketDisconnect

from secureconnect.common.deps import socket_claims, user_of
from secureconnect.common.errors import DomainError
from secureconnect.video.deps import State, VideoState
from secureconnect.video.frames import (
    CLOSE_POLICY_VIOLATION,
    CLOSE_UNSUPPORTED_DATA,
    FrameRefused,
    close_code_for,
    parse_frame,
)
from secureconnect.video.signaling import SignalingConnection, close_quietly
from secureconnect.video.store import call_not_found

router = APIRouter()


def _call_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError as exc:
        raise call_not_found() from exc


async def _read_frames(
    websocket: WebSocket, connection: SignalingConnection, state: VideoState
) -> None:
    while not connection.closed:
        try:
            message = await websocket.receive()
        except (RuntimeError, WebSocketDisconnect):  # closed under us (call ended, replaced)
            return
        if message["type"] == "websocket.disconnect":
            return
        try:
            if not connection.heard(state.clock.monotonic()):
                raise FrameRefused(CLOSE_POLICY_VIOLATION, "too many frames")
            text = message.get("text")
            if text is None:
                raise FrameRefused(CLOSE_UNSUPPORTED_DATA, "binary frames are not accepted")
            frame = parse_frame(text)
        except FrameRefused as refused:
            await connection.drop(refused.code, refused.reason)
            return
        await state.hub.handle(connection, frame)


@router.websocket("/ws/calls/{call_id}")
async def signaling(websocket: WebSocket, call_id: str, state: State) -> None:
    # Accept first: only an accepted socket can be closed with a code and a reason.
    await websocket.accept()
    try:
        claims = await socket_claims(websocket)
        call = await state.calls.signaling_call(user_of(claims), _call_id(call_id))
    except DomainError as exc:
        await close_quietly(websocket, close_code_for(exc), f"{exc.code}: {exc.message}")
        return
    connection = await state.hub.open(call, claims, websocket)
    try:
        await _read_frames(websocket, connection, state)
    finally:
        await state.hub.close(connection)
