"""HTTP routes of calls, TURN credentials, recordings and push devices."""

from __future__ import annotations

import asyncio
import os
import uuid

from fastapi import APIRouter, Response

from secureconnect.common.deps import CurrentUser
from secureconnect.common.openapi import errors
from secureconnect.video.deps import CallServiceDep, State
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

#: Lifetime of a recording's download URL, seconds.
RECORDING_URL_TTL_S = 15 * 60

router = APIRouter(prefix="/api/v1/calls")


@router.post("", status_code=201, responses=errors(404))
async def initiate(
    body: InitiateCall, user: CurrentUser, calls: CallServiceDep, state: State
) -> InitiatedCall:
    call = await calls.initiate(user, body.conversation_id, body.media, body.mode, body.record)
    servers = ice_servers(state.turn.issue(user))
    return InitiatedCall(**call_out(call).model_dump(), ice_servers=servers)


@router.get("/turn-credentials")
async def turn_credentials(user: CurrentUser, state: State) -> TurnCredentialsOut:
    credential = state.turn.issue(user)
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
async def recordings(
    call_id: uuid.UUID, user: CurrentUser, calls: CallServiceDep, state: State
) -> RecordingList:
    found = await calls.recordings(user, call_id)
    return RecordingList(
        call_id=str(call_id),
        recordings=[
            recording_out(
                r,
                state.recorder.presign(r, RECORDING_URL_TTL_S, state.presigner),
                RECORDING_URL_TTL_S,
            )
            for r in found
        ],
    )


#: Test environments only (never in the OpenAPI document): what the SFU holds right
#: now, so tests can prove that nothing leaks after a call ends.
debug_router = APIRouter(prefix="/internal/v1/debug")


@debug_router.get("/media", include_in_schema=False)
async def media_state(state: State) -> dict[str, object]:
    sfu = state.hub.sfu
    return {
        "rooms": len(sfu.rooms),
        "peer_connections": sfu.peer_connections,
        "signaling_calls": len(state.hub.calls),
        "recording_calls": len(state.recorder.calls),
        "tasks": len([t for t in asyncio.all_tasks() if _is_media_task(t)]),
        "sockets": await asyncio.to_thread(_open_udp_sockets),
    }


#: Where the code of a call's own tasks lives (HTTP keep-alive handlers are not counted:
#: a Prometheus scrape or a pooled gateway connection comes and goes on its own).
MEDIA_CODE = ("/aiortc/", "/aioice/", "/secureconnect/video/")


def _is_media_task(task: asyncio.Task[object]) -> bool:
    code = getattr(task.get_coro(), "cr_code", None)
    return code is not None and any(part in code.co_filename for part in MEDIA_CODE)


def _udp_inodes() -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/self/net/udp", "/proc/self/net/udp6"):
        try:
            with open(table) as lines:
                inodes |= {line.split()[9] for line in list(lines)[1:] if len(line.split()) > 9}
        except OSError:
            continue
    return inodes


def _open_udp_sockets() -> int:
    """UDP sockets this process holds: the ICE transports of calls (Linux /proc; else 0)."""
    try:
        fds = os.listdir("/proc/self/fd")
    except OSError:
        return 0
    udp, count = _udp_inodes(), 0
    for fd in fds:
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        count += target.startswith("socket:[") and target[8:-1] in udp
    return count
