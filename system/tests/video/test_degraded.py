"""Redis away: call events still reach the participants' sockets, through the
chat instances' internal endpoint instead of the pub/sub channel."""

from __future__ import annotations

import httpx

from harness.faults.injector import FaultInjector
from tests.chat.support import EventStream, User
from tests.helpers import eventually, metric
from tests.video.support import place_call

#: Health checks that fail before degraded mode, and back (resilient_redis), with margin.
DEGRADE_DEADLINE_S = 10.0


async def redis_degraded(video: httpx.AsyncClient) -> float | None:
    return metric((await video.get("/metrics")).text, "redis_degraded_mode", service="video")


async def test_call_events_reach_sockets_while_redis_is_cut(
    faults: FaultInjector,
    api: httpx.AsyncClient,
    video: httpx.AsyncClient,
    gateway_url: str,
    alice: User,
    bob: User,
    conversation: str,
) -> None:
    bob_events = await EventStream.open(gateway_url, bob)
    try:
        with faults.cut("redis"):

            async def degraded() -> bool:
                return await redis_degraded(video) == 1

            await eventually(degraded, DEGRADE_DEADLINE_S, "video in Redis degraded mode")
            call = await place_call(api, alice, conversation, mode="p2p")
            incoming = await bob_events.next(
                "call.incoming", lambda d: d["call_id"] == call["call_id"]
            )
            assert incoming["state"] == "ringing"
            text = (await video.get("/metrics")).text
            published = metric(
                text, "call_events_total", service="video", path="http", outcome="published"
            )
            assert published is not None and published >= 1
    finally:
        await bob_events.close()

    async def recovered() -> bool:
        return await redis_degraded(video) == 0

    await eventually(recovered, DEGRADE_DEADLINE_S, "video back on Redis")
