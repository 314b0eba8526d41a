"""Calls through the gateway: place, join, leave, end; who may see them; the events."""

from __future__ import annotations

import httpx

from tests.chat.support import User
from tests.helpers import metric
from tests.video.support import call_action, place_call


async def calls_active(video: httpx.AsyncClient) -> float | None:
    return metric((await video.get("/metrics")).text, "calls_active", service="video")


async def test_a_call_rings_is_answered_and_ends(
    api: httpx.AsyncClient, video: httpx.AsyncClient, alice: User, bob: User, conversation: str
) -> None:
    active_before = await calls_active(video)
    assert active_before is not None
    call = await place_call(api, alice, conversation, mode="p2p")
    assert call["state"] == "ringing"
    statuses = {p["user_id"]: p["status"] for p in call["participants"]}
    assert statuses == {alice.user_id: "joined", bob.user_id: "invited"}

    joined = await call_action(api, bob, call["call_id"], "join")
    assert joined["state"] == "active" and joined["answered_at"] is not None
    assert await calls_active(video) == active_before + 1

    left = await call_action(api, bob, call["call_id"], "leave")
    assert left["state"] == "active"  # alice is still in it
    ended = await call_action(api, alice, call["call_id"], "leave")
    assert ended["state"] == "ended" and ended["end_reason"] == "completed"
    assert await calls_active(video) == active_before

    seen = await api.get(f"/api/v1/calls/{call['call_id']}", headers=bob.headers)
    assert seen.status_code == 200 and seen.json()["state"] == "ended"
