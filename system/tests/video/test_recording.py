"""Recorded SFU calls: a file per participant in S3 that PyAV can play, listed
with download URLs for the call's participants only."""

from __future__ import annotations

import asyncio
from pathlib import Path

import av
import httpx

from harness.platform.base import Platform
from tests.chat.support import User, assert_error
from tests.video.support import SfuClient, call_action, place_call, wait_for

FRAMES_EXPECTED = 30
FRAMES_DEADLINE_S = 10.0
#: Stopping the recorders, the upload and the listing, seconds.
UPLOAD_DEADLINE_S = 30.0
#: How the access log names itself in a JSON line.
ACCESS_LOGGER = '"logger": "secureconnect.access"'


async def recordings(api: httpx.AsyncClient, user: User, call_id: str) -> list[dict]:
    response = await api.get(f"/api/v1/calls/{call_id}/recordings", headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()["recordings"]


def recorder_log(stack: Platform) -> list[str]:
    """The video service's last lines about recordings, its access log left out."""
    lines = stack.logs("video").splitlines()
    return [line for line in lines if "record" in line and ACCESS_LOGGER not in line][-10:]


async def test_a_recorded_call_leaves_playable_files_in_s3(
    api: httpx.AsyncClient,
    stack: Platform,
    gateway_url: str,
    tmp_path: Path,
    alice: User,
    bob: User,
    mallory: User,
    conversation: str,
) -> None:
    call = await place_call(api, alice, conversation, mode="sfu", record=True)
    call_id = call["call_id"]
    assert call["record"] is True
    await call_action(api, bob, call_id, "join")
    clients = [
        await SfuClient.join(gateway_url, call_id, alice.access_token, 70),
        await SfuClient.join(gateway_url, call_id, bob.access_token, 180),
    ]
    try:
        await wait_for(
            lambda: (
                clients[0].frames_from(bob.user_id) >= FRAMES_EXPECTED
                and clients[1].frames_from(alice.user_id) >= FRAMES_EXPECTED
            ),
            FRAMES_DEADLINE_S,
            "media flowing both ways",
        )
        await call_action(api, alice, call_id, "end")
    finally:
        for client in clients:
            await client.close()

    found: list[dict] = []

    async def listed() -> bool:
        found[:] = await recordings(api, bob, call_id)
        return len(found) == 2

    end = asyncio.get_running_loop().time() + UPLOAD_DEADLINE_S
    while not await listed():
        if asyncio.get_running_loop().time() > end:
            raise AssertionError(f"recordings: {found}; video log: {recorder_log(stack)}")
        await asyncio.sleep(0.2)
    assert {r["user_id"] for r in found} == {alice.user_id, bob.user_id}
    async with httpx.AsyncClient(timeout=10) as s3:
        for recording in found:
            assert recording["content_type"] == "video/mp4" and recording["size_bytes"] > 0
            download = await s3.get(recording["url"])
            assert download.status_code == 200, download.text[:300]
            path = tmp_path / f"{recording['recording_id']}.mp4"
            path.write_bytes(download.content)
            with av.open(str(path)) as container:
                assert container.duration is not None and container.duration > 0
                assert container.streams.video, "the file has a video stream"
            assert recording["duration_s"] > 0

    assert_error(await api.get(f"/api/v1/calls/{call_id}/recordings", headers=mallory.headers), 404)


async def test_an_unrecorded_call_has_no_recordings(
    api: httpx.AsyncClient, alice: User, conversation: str
) -> None:
    call = await place_call(api, alice, conversation, mode="sfu")
    await call_action(api, alice, call["call_id"], "end")
    assert await recordings(api, alice, call["call_id"]) == []
