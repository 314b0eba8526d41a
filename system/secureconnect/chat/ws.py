"""WebSocket route `/ws` (parse client frames, call the services) and the
internal event endpoint other services publish through.

Client frames are JSON text: `{"type": "ping"}` (answered with `pong`) and
`{"type": "typing", "conversation_id": "...", "typing": true}`. A frame the
server cannot accept ends the connection with a close code and a reason:
binary or unknown type 1003, malformed JSON or fields 1007, too big 1009,
too many frames 1008; a bad token 4401. A valid frame the server refuses
(e.g. typing in someone else's conversation) gets an `error` event instead.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Header
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from starlette.websockets import WebSocket

from secureconnect.chat.deps import State
from secureconnect.chat.events import encode
from secureconnect.chat.hub import (
    CLOSE_INVALID_PAYLOAD,
    CLOSE_POLICY_VIOLATION,
    CLOSE_TOO_BIG,
    CLOSE_UNAUTHORIZED,
    CLOSE_UNSUPPORTED_DATA,
    Connection,
    Frame,
    close_quietly,
)
from secureconnect.common.bus import INTERNAL_EVENTS_PATH, MAX_RECIPIENTS
from secureconnect.common.deps import socket_claims
from secureconnect.common.errors import DomainError
from secureconnect.common.service_tokens import verify_service_token
from secureconnect.common.tokens import bearer_token

#: Largest client frame, bytes of text.
MAX_CLIENT_FRAME_BYTES = 4096
PONG = "pong"
ERROR = "error"

router = APIRouter()


class PingFrame(BaseModel):
    type: Literal["ping"]


class TypingFrame(BaseModel):
    type: Literal["typing"]
    conversation_id: uuid.UUID
    typing: bool = True


_client_frame: TypeAdapter[PingFrame | TypingFrame] = TypeAdapter(
    Annotated[PingFrame | TypingFrame, Field(discriminator="type")]
)


def _refusal(exc: ValidationError) -> tuple[int, str]:
    errors = exc.errors()
    kinds = {e["type"] for e in errors}
    if "json_invalid" in kinds:
        return CLOSE_INVALID_PAYLOAD, "frame is not valid JSON"
    if kinds & {"union_tag_invalid", "union_tag_not_found", "model_attributes_type"}:
        return CLOSE_UNSUPPORTED_DATA, "unknown frame type (expected 'ping' or 'typing')"
    first = errors[0]
    field = ".".join(str(p) for p in first["loc"][1:]) or "frame"
    return CLOSE_INVALID_PAYLOAD, f"invalid frame: {field}: {first['msg']}"[:120]


async def _read_frames(websocket: WebSocket, connection: Connection, state: State) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        if not connection.heard(state.clock.monotonic()):
            connection.drop(CLOSE_POLICY_VIOLATION, "too many frames")
            return
        text = message.get("text")
        if text is None:
            connection.drop(CLOSE_UNSUPPORTED_DATA, "binary frames are not accepted")
            return
        if len(text.encode()) > MAX_CLIENT_FRAME_BYTES:
            connection.drop(CLOSE_TOO_BIG, f"frame larger than {MAX_CLIENT_FRAME_BYTES} bytes")
            return
        try:
            frame = _client_frame.validate_json(text)
        except ValidationError as exc:
            connection.drop(*_refusal(exc))
            return
        await _handle(frame, connection, state)


async def _handle(frame: PingFrame | TypingFrame, connection: Connection, state: State) -> None:
    now = state.clock.now()
    if isinstance(frame, PingFrame):
        connection.offer(Frame(encode(PONG, {}), now, "local"))
        return
    try:
        await state.chat.signal_typing(connection.user_id, frame.conversation_id, frame.typing)
    except DomainError as exc:
        error = {"code": exc.code, "message": exc.message, "frame": "typing"}
        connection.offer(Frame(encode(ERROR, error), now, "local"))


@router.websocket("/ws")
async def events(websocket: WebSocket, state: State) -> None:
    # Accept first: only an accepted socket can be closed with a code and a reason.
    await websocket.accept()
    try:
        claims = await socket_claims(websocket)
    except DomainError as exc:
        await close_quietly(websocket, CLOSE_UNAUTHORIZED, f"{exc.code}: {exc.message}")
        return
    connection = await state.sockets.open(claims)
    reason = "client_closed"
    try:
        reason = await state.sockets.serve(
            websocket, connection, _read_frames(websocket, connection, state)
        )
    finally:
        await state.sockets.close(connection, reason)


class InternalEvent(BaseModel):
    type: str
    recipients: list[uuid.UUID] = Field(min_length=1, max_length=MAX_RECIPIENTS)
    data: dict[str, object]


class Accepted(BaseModel):
    accepted: bool = True
    recipients: int


@router.post(INTERNAL_EVENTS_PATH, status_code=202)
async def publish_event(
    body: InternalEvent, state: State, authorization: Annotated[str | None, Header()] = None
) -> Accepted:
    """For services that cannot reach Redis: deliver an event as if published on the bus."""
    verify_service_token(state.jwt_key, bearer_token(authorization), state.clock)
    state.bus.publish_external(body.type, body.data, body.recipients)
    return Accepted(recipients=len(body.recipients))
