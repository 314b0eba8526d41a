"""The frames of `/ws/calls/{id}`: what a client may send, and how bad ones are refused.

Client → server, JSON text:
    {"type": "offer"|"answer", "sdp": "...", "to": "<user id>"}   ("to" only in p2p)
    {"type": "ice", "candidate": {"candidate": "candidate:...", "sdpMid": "0",
                                  "sdpMLineIndex": 0} | null, "to": "<user id>"}
    {"type": "ping"}
Server → client: {"type": T, "data": {...}} with T in ready, offer, answer, ice,
tracks, peer.joined, peer.left, pong, error.

Refusals: a frame the server cannot read ends the connection with a close
code — binary or an unknown type 1003, malformed JSON or fields 1007, larger
than MAX_FRAME_BYTES 1009, more than FRAMES_PER_S a second 1008. A readable
frame the server will not act on (SDP that does not parse, a peer who is not
connected, a negotiation already running) gets an `error` frame instead, and
the connection stays usable.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from aiortc.sdp import SessionDescription
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from secureconnect.common.errors import DomainError

#: Largest client frame, bytes (an SDP for ten tracks is ~10 kB).
MAX_FRAME_BYTES = 64 * 1024
MAX_SDP_CHARS = 60_000
#: Frames a client may send per second (trickled ICE comes in bursts).
FRAMES_PER_S = 50

CLOSE_NORMAL = 1000
CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_INVALID_PAYLOAD = 1007
CLOSE_POLICY_VIOLATION = 1008
CLOSE_TOO_BIG = 1009
#: Application close codes (4000-4999), named after their HTTP cousins.
CLOSE_UNAUTHORIZED = 4401
CLOSE_NOT_FOUND = 4404
CLOSE_TIMEOUT = 4408
CLOSE_CONFLICT = 4409
CLOSE_CALL_ENDED = 4410


class IceCandidate(BaseModel):
    candidate: str = Field(max_length=1024)
    sdpMid: str | None = Field(default=None, max_length=64)  # noqa: N815 (WebRTC's names)
    sdpMLineIndex: int | None = Field(default=None, ge=0, le=1024)  # noqa: N815


class OfferFrame(BaseModel):
    type: Literal["offer"]
    sdp: str = Field(min_length=1, max_length=MAX_SDP_CHARS)
    to: uuid.UUID | None = None


class AnswerFrame(BaseModel):
    type: Literal["answer"]
    sdp: str = Field(min_length=1, max_length=MAX_SDP_CHARS)
    to: uuid.UUID | None = None


class IceFrame(BaseModel):
    type: Literal["ice"]
    candidate: IceCandidate | None
    to: uuid.UUID | None = None


class PingFrame(BaseModel):
    type: Literal["ping"]


ClientFrame = OfferFrame | AnswerFrame | IceFrame | PingFrame
_client_frame: TypeAdapter[ClientFrame] = TypeAdapter(
    Annotated[ClientFrame, Field(discriminator="type")]
)


class FrameRefused(Exception):
    """The connection must end: (close code, reason)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason[:120]


def parse_frame(text: str) -> ClientFrame:
    if len(text.encode()) > MAX_FRAME_BYTES:
        raise FrameRefused(CLOSE_TOO_BIG, f"frame larger than {MAX_FRAME_BYTES} bytes")
    try:
        return _client_frame.validate_json(text)
    except ValidationError as exc:
        errors = exc.errors()
        kinds = {e["type"] for e in errors}
        if "json_invalid" in kinds:
            raise FrameRefused(CLOSE_INVALID_PAYLOAD, "frame is not valid JSON") from exc
        if kinds & {"union_tag_invalid", "union_tag_not_found", "model_attributes_type"}:
            raise FrameRefused(
                CLOSE_UNSUPPORTED_DATA, "unknown frame type (offer, answer, ice or ping)"
            ) from exc
        first = errors[0]
        field = ".".join(str(p) for p in first["loc"][1:]) or "frame"
        raise FrameRefused(
            CLOSE_INVALID_PAYLOAD, f"invalid frame: {field}: {first['msg']}"
        ) from exc


def invalid_sdp(message: str) -> DomainError:
    return DomainError(400, "invalid_sdp", message)


def check_sdp(sdp: str) -> SessionDescription:
    """A session description that WebRTC can use: parses, has media, each with
    ICE credentials and a DTLS fingerprint; 400 invalid_sdp otherwise."""
    if not sdp.startswith("v=0"):
        raise invalid_sdp("the SDP must start with 'v=0'")
    try:
        description = SessionDescription.parse(sdp)
    except Exception as exc:  # aiortc's parser raises whatever the line broke
        raise invalid_sdp(f"the SDP does not parse: {type(exc).__name__}") from exc
    if not description.media:
        raise invalid_sdp("the SDP has no media section")
    for media in description.media:
        if media.kind not in ("audio", "video", "application"):
            raise invalid_sdp(f"unsupported media kind {media.kind!r}")
        ice = media.ice
        if ice is None or not ice.usernameFragment or not ice.password:
            raise invalid_sdp("a media section lacks ICE credentials (ice-ufrag, ice-pwd)")
        if media.dtls is None or not media.dtls.fingerprints:
            raise invalid_sdp("a media section lacks a DTLS fingerprint")
    return description


def close_code_for(error: DomainError) -> int:
    """The WebSocket close code of a refusal at connect time."""
    if error.status == 401:
        return CLOSE_UNAUTHORIZED
    if error.status == 404:
        return CLOSE_NOT_FOUND
    if error.code == "call_ended":
        return CLOSE_CALL_ENDED
    return CLOSE_CONFLICT
