"""A signaling socket lives no longer than its access token: revoked (logout) or
expired, it is closed with 4401 within one recheck period, and its peers hear it
left the call."""

from __future__ import annotations

import httpx
from secureconnect.video.frames import CLOSE_UNAUTHORIZED
from secureconnect.video.signaling import REVOCATION_RECHECK_S, REVOKED_REASON

from tests.chat.support import User
from tests.video.support import Signaling, call_action, place_call

#: Beyond the recheck period: the revocation round trip and the close, seconds.
CLOSE_SLACK_S = 3.0


async def test_logout_closes_the_sessions_signaling_socket(
    api: httpx.AsyncClient, gateway_url: str, alice: User, bob: User, conversation: str
) -> None:
    call_id = (await place_call(api, alice, conversation, mode="p2p"))["call_id"]
    await call_action(api, bob, call_id, "join")
    alice_ws = await Signaling.open(gateway_url, call_id, alice.access_token)
    await alice_ws.next("ready")
    bob_ws = await Signaling.open(gateway_url, call_id, bob.access_token)
    await bob_ws.next("ready")
    try:
        answer = await api.post("/api/v1/auth/logout", headers=alice.headers)
        assert answer.status_code == 204, answer.text
        code, reason = await alice_ws.closed(REVOCATION_RECHECK_S + CLOSE_SLACK_S)
        assert (code, reason) == (CLOSE_UNAUTHORIZED, REVOKED_REASON)
        await bob_ws.next("peer.left", lambda d: d["user_id"] == alice.user_id)
        await bob_ws.send({"type": "ping"})
        await bob_ws.next("pong")  # the other session is untouched
    finally:
        await alice_ws.close()
        await bob_ws.close()
