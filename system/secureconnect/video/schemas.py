"""Request and response bodies of the video API (also the data of call events)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from secureconnect.common.text import opaque
from secureconnect.video.store import CallRecord, Recording
from secureconnect.video.turn import TurnCredential

#: A push service's device token, as the device reported it.
DeviceToken = opaque(512)


class InitiateCall(BaseModel):
    conversation_id: uuid.UUID
    media: Literal["audio", "video"] = "video"
    mode: Literal["p2p", "sfu"] = "p2p"
    #: Record the call (needs mode "sfu": only then does media pass the server).
    record: bool = False


class ParticipantOut(BaseModel):
    user_id: str
    status: Literal["invited", "joined", "left"]
    joined_at: datetime | None
    left_at: datetime | None


class CallOut(BaseModel):
    call_id: str
    conversation_id: str
    initiator_id: str
    state: Literal["ringing", "active", "ended"]
    media: str
    mode: str
    record: bool
    participants: list[ParticipantOut]
    created_at: datetime
    ring_deadline: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None


class IceServer(BaseModel):
    urls: list[str]
    username: str
    credential: str


class InitiatedCall(CallOut):
    ice_servers: list[IceServer]


class TurnCredentialsOut(BaseModel):
    urls: list[str]
    username: str
    credential: str
    ttl: int


class RecordingOut(BaseModel):
    recording_id: str
    user_id: str
    content_type: str
    size_bytes: int
    duration_s: float | None
    created_at: datetime
    url: str
    expires_in: int


class RecordingList(BaseModel):
    call_id: str
    recordings: list[RecordingOut]


class DeviceIn(BaseModel):
    token: DeviceToken
    platform: Literal["android", "ios", "web"] = "android"


def call_out(call: CallRecord) -> CallOut:
    return CallOut(
        call_id=str(call.id),
        conversation_id=str(call.conversation_id),
        initiator_id=str(call.initiator_id),
        state=call.state,  # type: ignore[arg-type]
        media=call.media,
        mode=call.mode,
        record=call.record,
        participants=[
            ParticipantOut(
                user_id=str(p.user_id),
                status=p.status,  # type: ignore[arg-type]
                joined_at=p.joined_at,
                left_at=p.left_at,
            )
            for p in call.participants
        ],
        created_at=call.created_at,
        ring_deadline=call.ring_deadline,
        answered_at=call.answered_at,
        ended_at=call.ended_at,
        end_reason=call.end_reason,
    )


def call_event(call: CallRecord) -> dict[str, Any]:
    return call_out(call).model_dump(mode="json")


def ice_servers(credential: TurnCredential) -> list[IceServer]:
    if not credential.urls:
        return []
    return [
        IceServer(
            urls=credential.urls, username=credential.username, credential=credential.credential
        )
    ]


def recording_out(recording: Recording, url: str, expires_in: int) -> RecordingOut:
    return RecordingOut(
        recording_id=str(recording.id),
        user_id=str(recording.user_id),
        content_type=recording.content_type,
        size_bytes=recording.size_bytes,
        duration_s=recording.duration_s,
        created_at=recording.created_at,
        url=url,
        expires_in=expires_in,
    )
