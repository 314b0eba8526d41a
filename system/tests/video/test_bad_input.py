"""Bad input to calls and signaling: clear errors and close codes, nothing leaked."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from tests.chat.support import User, assert_error
from tests.video.support import Signaling, call_action, media_settles, media_state, place_call

GARBAGE_SDP = "v=0\r\nthis is not a session description\r\n"
#: Parses, but offers nothing WebRTC can use (no ICE credentials, no fingerprint).
BARE_SDP = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"


async def signaling_refused(base_url: str, call_id: str, token: str | None) -> tuple[int, str]:
    ws = await Signaling.open(base_url, call_id, token)
    code, reason = await ws.closed()
    assert code is not None
    return code, reason


async def test_outsiders_get_404_for_every_call_route(
    api: httpx.AsyncClient, alice: User, mallory: User, conversation: str
) -> None:
    call = await place_call(api, alice, conversation, mode="p2p")
    base = f"/api/v1/calls/{call['call_id']}"
    assert_error(await api.get(base, headers=mallory.headers), 404, "call_not_found")
    for action in ("join", "leave", "end"):
        response = await api.post(f"{base}/{action}", headers=mallory.headers)
        assert_error(response, 404, "call_not_found")
    assert_error(await api.get(f"{base}/recordings", headers=mallory.headers), 404)
    body = {"conversation_id": conversation, "media": "audio", "mode": "p2p"}
    response = await api.post("/api/v1/calls", json=body, headers=mallory.headers)
    assert_error(response, 404, "conversation_not_found")


async def test_joining_an_ended_call_is_a_conflict(
    api: httpx.AsyncClient, gateway_url: str, alice: User, bob: User, conversation: str
) -> None:
    call = await place_call(api, alice, conversation, mode="p2p")
    await call_action(api, alice, call["call_id"], "end")
    error = assert_error(
        await api.post(f"/api/v1/calls/{call['call_id']}/join", headers=bob.headers),
        409,
        "call_ended",
    )
    assert "ended" in error["message"]
    code, reason = await signaling_refused(gateway_url, call["call_id"], alice.access_token)
    assert code == 4410 and "call_ended" in reason
    # Ending again is harmless: the call stays as it ended.
    again = await call_action(api, bob, call["call_id"], "end")
    assert again["end_reason"] == "ended"


async def test_bad_requests_are_422(api: httpx.AsyncClient, alice: User, conversation: str) -> None:
    cases = [
        {"conversation_id": conversation, "mode": "p2p", "record": True},
        {"conversation_id": conversation, "mode": "mesh"},
        {"conversation_id": "not-a-uuid"},
        {},
    ]
    for body in cases:
        response = await api.post("/api/v1/calls", json=body, headers=alice.headers)
        assert_error(response, 422)
    assert_error(await api.get("/api/v1/calls/not-a-uuid", headers=alice.headers), 422)
    assert_error(await api.post("/api/v1/calls", json={"conversation_id": conversation}), 401)


async def test_signaling_refuses_strangers_and_the_uninvited(
    api: httpx.AsyncClient,
    gateway_url: str,
    alice: User,
    bob: User,
    mallory: User,
    conversation: str,
) -> None:
    call_id = (await place_call(api, alice, conversation, mode="sfu"))["call_id"]
    cases = [
        (call_id, mallory.access_token, 4404),  # not a participant
        (str(uuid.uuid4()), alice.access_token, 4404),  # no such call
        ("not-a-uuid", alice.access_token, 4404),
        (call_id, bob.access_token, 4409),  # invited, not joined
        (call_id, "not.a.token", 4401),
        (call_id, None, 4401),
    ]
    for target, token, expected in cases:
        code, reason = await signaling_refused(gateway_url, target, token)
        assert code == expected, (target, token, code, reason)
        assert reason


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ("{not json", 1007),
        (json.dumps({"type": "dance"}), 1003),
        (json.dumps({"type": "offer"}), 1007),
        (json.dumps({"type": "ice", "candidate": {"candidate": 7}}), 1007),
        ("x" * (70 * 1024), 1009),
        (b"\x00\x01", 1003),
    ],
)
async def test_unreadable_frames_close_the_socket(
    api: httpx.AsyncClient,
    gateway_url: str,
    alice: User,
    conversation: str,
    frame: str | bytes,
    expected: int,
) -> None:
    call_id = (await place_call(api, alice, conversation, mode="sfu"))["call_id"]
    ws = await Signaling.open(gateway_url, call_id, alice.access_token)
    await ws.next("ready")
    await ws.connection.send(frame)
    code, reason = await ws.closed()
    assert code == expected and reason, (code, reason)


async def test_malformed_sdp_gets_an_error_frame_and_leaks_nothing(
    api: httpx.AsyncClient,
    video: httpx.AsyncClient,
    gateway_url: str,
    alice: User,
    conversation: str,
) -> None:
    before = await media_state(video)
    call_id = (await place_call(api, alice, conversation, mode="sfu"))["call_id"]
    ws = await Signaling.open(gateway_url, call_id, alice.access_token)
    await ws.next("ready")
    for sdp in (GARBAGE_SDP, BARE_SDP, "hello"):
        await ws.send({"type": "offer", "sdp": sdp})
        error = await ws.next("error")
        assert error["code"] == "invalid_sdp" and error["frame"] == "offer", error
    await ws.send({"type": "answer", "sdp": GARBAGE_SDP})
    assert (await ws.next("error"))["code"] == "invalid_sdp"
    await ws.send({"type": "ping"})
    await ws.next("pong")  # still usable
    await ws.close()
    await media_settles(
        video,
        lambda s: (
            s["peer_connections"] == before["peer_connections"]
            and s["sockets"] <= before["sockets"]
        ),
        "no peer connection left behind",
    )


async def test_p2p_frames_need_a_connected_recipient_and_valid_sdp(
    api: httpx.AsyncClient, gateway_url: str, alice: User, bob: User, conversation: str
) -> None:
    call_id = (await place_call(api, alice, conversation, mode="p2p"))["call_id"]
    ws = await Signaling.open(gateway_url, call_id, alice.access_token)
    await ws.next("ready")
    await ws.send({"type": "offer", "sdp": GARBAGE_SDP})
    assert (await ws.next("error"))["code"] == "missing_recipient"
    await ws.send({"type": "offer", "sdp": GARBAGE_SDP, "to": bob.user_id})
    assert (await ws.next("error"))["code"] == "peer_not_connected"
    await call_action(api, bob, call_id, "join")
    bob_ws = await Signaling.open(gateway_url, call_id, bob.access_token)
    await bob_ws.next("ready")
    await ws.next("peer.joined")
    await ws.send({"type": "offer", "sdp": GARBAGE_SDP, "to": bob.user_id})
    assert (await ws.next("error"))["code"] == "invalid_sdp"
    await bob_ws.close()
    assert (await ws.next("peer.left"))["user_id"] == bob.user_id
    await ws.close()
