"""A call's signaling sockets when one participant logs out (ROB-011).

alice and bob hold `/ws/calls/{id}` through the gateway; alice logs out. What
each side saw is returned whole, so the check judges it and shows it, whatever
happened first.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from harness.checks.library.flows_calls import Call
from harness.clients.media import Signaling

#: How long bob waits for `peer.left`, then for `pong`, seconds.
PEER_DEADLINE_S = 5.0


@dataclass(frozen=True)
class AfterLogout:
    logout_status: int
    #: alice's close (code, reason), or None while her socket is still open.
    close: tuple[int | None, str] | None
    closed_after_s: float | None
    #: What bob's socket did: "" when it heard alice leave and still answers.
    peer_problem: str


def observe_logout(call: Call, gateway: str, deadline_s: float) -> AfterLogout:
    """Both open their sockets, alice logs out; her socket is watched for `deadline_s`."""
    return asyncio.run(_observe(call, gateway, deadline_s))


async def _observe(call: Call, gateway: str, deadline_s: float) -> AfterLogout:
    call_id = call.placed.json()["call_id"]
    alice_ws = await Signaling.open(gateway, call_id, call.alice.access_token)
    bob_ws = await Signaling.open(gateway, call_id, call.bob.access_token)
    try:
        await alice_ws.next("ready")
        await bob_ws.next("ready")
        logout = await asyncio.to_thread(call.api.logout, call.alice)
        started = time.monotonic()
        close = await _closed(alice_ws, deadline_s)
        closed_after = None if close is None else time.monotonic() - started
        return AfterLogout(logout.status_code, close, closed_after, await _peer(call, bob_ws))
    finally:
        await alice_ws.close()
        await bob_ws.close()


async def _closed(socket: Signaling, deadline_s: float) -> tuple[int | None, str] | None:
    try:
        return await socket.closed(deadline_s)
    except TimeoutError:
        return None


async def _peer(call: Call, bob_ws: Signaling) -> str:
    try:
        left = call.alice.user_id
        await bob_ws.next("peer.left", lambda d: d["user_id"] == left, PEER_DEADLINE_S)
        await bob_ws.send({"type": "ping"})
        await bob_ws.next("pong", deadline_s=PEER_DEADLINE_S)
    except (AssertionError, TimeoutError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""
