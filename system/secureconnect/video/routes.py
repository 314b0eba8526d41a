"""HTTP routes of calls, TURN credentials, recordings and push devices."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from secureconnect.common.deps import CurrentUser
from secureconnect.common.openapi import errors
from secureconnect.video.deps import CallServiceDep
from secureconnect.video.schemas import (
    CallOut,
    DeviceIn,
    InitiateCall,
    InitiatedCall,
    RecordingList,
    TurnCredentialsOut,
    call_out,
    ice_servers,
    recording_out,
)

router = APIRouter(prefix="/api/v1/calls")


@router.post("", status_code=201, responses=errors(404))
async def initiate(body: InitiateCall, user: CurrentUser, calls: CallServiceDep) -> InitiatedCall:
    call = await calls.initiate(user, body.conversation_id, body.media, body.mode, body.record)
    servers = ice_servers(calls.turn_credential(user))
    return InitiatedCall(**call_out(call).model_dump(), ice_servers=servers)


@router.get("/turn-credentials")
async def turn_credentials(user: CurrentUser, calls: CallServiceDep) -> TurnCredentialsOut:
    credential = calls.turn_credential(user)
    return TurnCredentialsOut(
        urls=credential.urls,
        username=credential.username,
        credential=credential.credential,
        ttl=credential.ttl,
    )


@router.post("/push-devices", status_code=204)
async def register_device(body: DeviceIn, user: CurrentUser, calls: CallServiceDep) -> Response:
    await calls.register_device(user, body.token, body.platform)
    return Response(status_code=204)


@router.get("/{call_id}")
async def get_call(call_id: uuid.UUID, user: CurrentUser, calls: CallServiceDep) -> CallOut:
    return call_out(await calls.get(user, call_id))


@router.post("/{call_id}/join", responses=errors(409))
async def join(call_id: uuid.UUID, user: CurrentUser, calls: CallServiceDep) -> CallOut:
    return call_out(await calls.join(user, call_id))


@router.post("/{call_id}/leave", responses=errors(409))
async def leave(call_id: uuid.UUID, user: CurrentUser, calls: CallServiceDep) -> CallOut:
    return call_out(await calls.leave(user, call_id))


@router.post("/{call_id}/end", responses=errors(409))
async def end(call_id: uuid.UUID, user: CurrentUser, calls: CallServiceDep) -> CallOut:
    return call_out(await calls.end(user, call_id))


@router.get("/{call_id}/recordings")
async def recordings(call_id: uuid.UUID, user: CurrentUser, calls: CallServiceDep) -> RecordingList:
    links = await calls.recordings(user, call_id)
    return RecordingList(
        call_id=str(call_id),
        recordings=[recording_out(link.recording, link.url, link.expires_in) for link in links],
    )
