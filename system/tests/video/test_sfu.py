"""The SFU through the gateway: two aiortc participants see each other, and
ending the call leaves nothing open in the video service."""

from __future__ import annotations

import asyncio

import httpx

from tests.chat.support import User
from tests.helpers import metric
from tests.video.support import (
    SfuClient,
    call_action,
    media_settles,
    media_state,
    place_call,
    wait_for,
)

#: What each participant must decode of the other's video, and by when.
FRAMES_EXPECTED = 30
FRAMES_DEADLINE_S = 10.0
ALICE_LUMA, BOB_LUMA = 60, 190
#: A VP8 round trip of a flat picture moves its brightness by a few steps at most.
LUMA_TOLERANCE = 12


async def test_two_participants_receive_each_others_video(
    api: httpx.AsyncClient,
    video: httpx.AsyncClient,
    gateway_url: str,
    alice: User,
    bob: User,
    conversation: str,
) -> None:
    before = await media_state(video)
    call = await place_call(api, alice, conversation, mode="sfu")
    await call_action(api, bob, call["call_id"], "join")
    clients = [
        await SfuClient.join(gateway_url, call["call_id"], alice.access_token, ALICE_LUMA),
        await SfuClient.join(gateway_url, call["call_id"], bob.access_token, BOB_LUMA),
    ]
    try:
        a, b = clients
        await wait_for(
            lambda: (
                a.frames_from(bob.user_id) >= FRAMES_EXPECTED
                and b.frames_from(alice.user_id) >= FRAMES_EXPECTED
            ),
            FRAMES_DEADLINE_S,
            f"{FRAMES_EXPECTED} decoded frames each way",
        )
        assert all(abs(luma - BOB_LUMA) < LUMA_TOLERANCE for luma in a.lumas_from(bob.user_id))
        assert all(abs(luma - ALICE_LUMA) < LUMA_TOLERANCE for luma in b.lumas_from(alice.user_id))
        assert a.negotiations >= 1, "alice got bob's track by a server-initiated renegotiation"
        during = await media_state(video)
        assert during["peer_connections"] == before["peer_connections"] + 2

        await call_action(api, alice, call["call_id"], "end")
        closes = await asyncio.gather(*(c.signaling.closed() for c in clients))
        assert [code for code, _ in closes] == [4410, 4410], closes
    finally:
        for client in clients:
            await client.close()

    after = await media_settles(
        video,
        lambda s: (
            s["peer_connections"] == before["peer_connections"]
            and s["rooms"] == before["rooms"]
            and s["sockets"] <= before["sockets"]
            and s["tasks"] <= before["tasks"]
        ),
        "the SFU back to what it held before the call",
    )
    assert after["signaling_calls"] == before["signaling_calls"]
    text = (await video.get("/metrics")).text
    assert metric(text, "sfu_peer_connections", service="video") == after["peer_connections"]
