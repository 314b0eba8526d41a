"""Peer-to-peer calls: the server only relays offer, answer and ICE between
participants, and two aiortc peers connect through that relay alone."""

from __future__ import annotations

import httpx
from aiortc import RTCSessionDescription

from tests.chat.support import User
from tests.video.support import (
    FrameCounter,
    ShadeTrack,
    Signaling,
    call_action,
    parse_candidate,
    peer_connection,
    place_call,
    split_candidates,
    wait_for,
)

FRAMES_EXPECTED = 30
FRAMES_DEADLINE_S = 10.0


async def test_relayed_offer_answer_and_trickled_ice_connect_two_peers(
    api: httpx.AsyncClient, gateway_url: str, alice: User, bob: User, conversation: str
) -> None:
    call = await place_call(api, alice, conversation, mode="p2p")
    call_id = call["call_id"]
    await call_action(api, bob, call_id, "join")
    alice_ws = await Signaling.open(gateway_url, call_id, alice.access_token)
    await alice_ws.next("ready")
    bob_ws = await Signaling.open(gateway_url, call_id, bob.access_token)
    assert (await bob_ws.next("ready"))["peers"] == [alice.user_id]
    await alice_ws.next("peer.joined", lambda d: d["user_id"] == bob.user_id)

    caller, callee = peer_connection(), peer_connection()
    counters: list[FrameCounter] = []
    caller.on("track", lambda track: counters.append(FrameCounter(track, "caller")))
    callee.on("track", lambda track: counters.append(FrameCounter(track, "callee")))
    caller.addTrack(ShadeTrack(80))
    callee.addTrack(ShadeTrack(170))
    try:
        # Alice offers without candidates and trickles them, so Bob can only
        # reach her through the relayed `ice` frames.
        await caller.setLocalDescription(await caller.createOffer())
        sdp, candidates = split_candidates(caller.localDescription.sdp)
        assert candidates, "aiortc gathered no host candidate"
        await alice_ws.send({"type": "offer", "to": bob.user_id, "sdp": sdp})
        for line in candidates:
            candidate = {"candidate": line, "sdpMid": "0", "sdpMLineIndex": 0}
            await alice_ws.send({"type": "ice", "to": bob.user_id, "candidate": candidate})
        await alice_ws.send({"type": "ice", "to": bob.user_id, "candidate": None})

        offer = await bob_ws.next("offer")
        assert offer["from"] == alice.user_id and "a=candidate" not in offer["sdp"]
        await callee.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        for _ in candidates:
            relayed = await bob_ws.next("ice", lambda d: d["candidate"] is not None)
            await callee.addIceCandidate(parse_candidate(relayed["candidate"]))
        await bob_ws.next("ice", lambda d: d["candidate"] is None)
        await callee.addIceCandidate(None)
        await callee.setLocalDescription(await callee.createAnswer())
        answer_sdp = callee.localDescription.sdp
        await bob_ws.send({"type": "answer", "to": alice.user_id, "sdp": answer_sdp})

        answer = await alice_ws.next("answer")
        assert answer["from"] == bob.user_id
        await caller.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))

        await wait_for(
            lambda: len(counters) == 2 and all(c.frames >= FRAMES_EXPECTED for c in counters),
            FRAMES_DEADLINE_S,
            f"{FRAMES_EXPECTED} frames decoded by each peer",
        )
        assert caller.connectionState == callee.connectionState == "connected"
    finally:
        for counter in counters:
            await counter.stop()
        await caller.close()
        await callee.close()
        await alice_ws.close()
        await bob_ws.close()
