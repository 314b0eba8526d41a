"""Test environments only (never in the OpenAPI document, never outside a local
environment): what the SFU holds right now, so tests can prove that nothing leaks
after a call ends."""

from __future__ import annotations

import asyncio
import os

from fastapi import APIRouter

from secureconnect.video.deps import State

router = APIRouter(prefix="/internal/v1/debug")


@router.get("/media", include_in_schema=False)
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
