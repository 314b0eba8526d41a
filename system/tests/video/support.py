"""Clients for the video tests: calls over REST, signaling sockets, and aiortc
peers that send a generated video track and count the frames they decode.
Everything goes through the gateway of the real stack unless a test aims at
the video service itself on purpose. Every wait has a deadline."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn
from aiortc.sdp import candidate_from_sdp
from starlette.applications import Starlette

from harness.clients.media import (  # noqa: F401  (re-exported for the tests)
    FRAME_DEADLINE_S,
    FRAME_SIZE,
    FrameCounter,
    SfuClient,
    ShadeTrack,
    Signaling,
    calls_ws_url,
    mean_luma,
    peer_connection,
    ws_base,
)
from tests.chat.support import User


async def place_call(
    api: httpx.AsyncClient,
    caller: User,
    conversation_id: str,
    mode: str = "sfu",
    media: str = "video",
    record: bool = False,
) -> dict[str, Any]:
    body = {"conversation_id": conversation_id, "media": media, "mode": mode, "record": record}
    response = await api.post("/api/v1/calls", json=body, headers=caller.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def call_action(api: httpx.AsyncClient, user: User, call_id: str, action: str) -> dict:
    response = await api.post(f"/api/v1/calls/{call_id}/{action}", headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def wait_for(
    condition: Callable[[], Any], deadline_s: float, what: str, interval_s: float = 0.05
) -> Any:
    """Poll a synchronous condition until truthy; fail after the deadline."""
    end = time.monotonic() + deadline_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"{what}: not within {deadline_s}s")
        await asyncio.sleep(interval_s)


def split_candidates(sdp: str) -> tuple[str, list[str]]:
    """(the SDP without its a=candidate lines, those candidates) — to trickle them."""
    lines = sdp.splitlines()
    candidates = [line[len("a=") :] for line in lines if line.startswith("a=candidate:")]
    kept = [line for line in lines if not line.startswith(("a=candidate:", "a=end-of-candidates"))]
    return "\r\n".join(kept) + "\r\n", candidates


def parse_candidate(candidate: dict[str, Any]):  # noqa: ANN201 (aiortc's RTCIceCandidate)
    parsed = candidate_from_sdp(candidate["candidate"].removeprefix("candidate:"))
    parsed.sdpMid, parsed.sdpMLineIndex = candidate["sdpMid"], candidate["sdpMLineIndex"]
    return parsed


async def media_state(video: httpx.AsyncClient) -> dict[str, Any]:
    """What the video service holds now (its test-only debug endpoint)."""
    response = await video.get("/internal/v1/debug/media")
    assert response.status_code == 200, response.text
    return response.json()


async def media_settles(
    video: httpx.AsyncClient,
    condition: Callable[[dict[str, Any]], bool],
    what: str,
    deadline_s: float = FRAME_DEADLINE_S,
) -> dict[str, Any]:
    """Poll the debug endpoint until `condition` holds; the state that satisfied it."""
    end = time.monotonic() + deadline_s
    while True:
        state = await media_state(video)
        if condition(state):
            return state
        if time.monotonic() > end:
            raise AssertionError(f"{what}: not within {deadline_s}s (last: {state})")
        await asyncio.sleep(0.05)


@asynccontextmanager
async def local_http(app: Starlette) -> AsyncIterator[str]:
    """Serve `app` on a free loopback port for the duration; its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", ws="none"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await wait_for(lambda: server.started or task.done(), FRAME_DEADLINE_S, "local server")
        assert not task.done(), "the local server did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, FRAME_DEADLINE_S)
