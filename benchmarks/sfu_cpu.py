"""SFU CPU cost per forwarded video track, at 3, 6 and 9 tracks, in one run.

    .venv/bin/python benchmarks/sfu_cpu.py [--tracks 3,6,9] [--seconds 10] [--warmup 3]

Starts a lean local stack with the harness (PostgreSQL, Redis, coturn, S3,
auth, chat, video, gateway), registers one publisher and as many
subscribers as the largest step needs, all in one group conversation, and
places an SFU call. The publisher sends one 320x240 video track at 30 fps
(aiortc's VideoStreamTrack clock); each subscriber is a receive-only aiortc
peer. So N subscribers = N forwarded tracks: the SFU decodes the publisher's
track once (MediaRelay) and encodes it N times, once per subscriber.

Steps: the publisher alone (the baseline: receiving and decoding), then
subscribers are added until each step's count is connected; after --warmup
seconds the video process's CPU time (user + system, every thread, from
psutil) is sampled over --seconds, together with the frames each subscriber
decoded. Per track = (step CPU - baseline CPU) / N, in percent of one core.
The frame rate column shows whether the SFU kept up (~30 fps) or the machine
ran out of CPU (then the per-track figure understates the cost).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from dataclasses import dataclass, field

import av
import httpx
import psutil
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import MediaStreamError
from websockets.asyncio.client import ClientConnection, connect

from harness.platform.local import LocalPlatform, default_components

PASSWORD = "correct-Horse-battery-9"
FRAME_SIZE = (320, 240)
CONNECT_DEADLINE_S = 20.0


class GreyTrack(VideoStreamTrack):
    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(width=FRAME_SIZE[0], height=FRAME_SIZE[1], format="yuv420p")
        for index, plane in enumerate(frame.planes):
            # A moving gradient, so the encoder has real work (a flat frame is nearly free).
            row = bytes((x + pts // 3000) % 256 for x in range(plane.line_size))
            plane.update(row * plane.height if index == 0 else bytes([128]) * plane.buffer_size)
        frame.pts, frame.time_base = pts, time_base
        return frame


@dataclass
class Participant:
    token: str
    ws: ClientConnection | None = None
    pc: RTCPeerConnection = field(
        default_factory=lambda: RTCPeerConnection(RTCConfiguration(iceServers=[]))
    )
    frames: int = 0
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def connect(self, ws_url: str, publish: bool) -> None:
        self.ws = await connect(f"{ws_url}?token={self.token}", open_timeout=10)
        await self._next("ready")
        if publish:
            self.pc.addTrack(GreyTrack())
        else:
            self.pc.addTransceiver("video", direction="recvonly")
        self.pc.on("track", self._count)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        await self.ws.send(json.dumps({"type": "offer", "sdp": self.pc.localDescription.sdp}))
        answer = await self._next("answer")
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        self.tasks.append(asyncio.create_task(self._serve_offers()))

    async def _next(self, kind: str) -> dict:
        assert self.ws is not None
        async with asyncio.timeout(CONNECT_DEADLINE_S):
            while True:
                frame = json.loads(await self.ws.recv())
                if frame["type"] == kind:
                    return frame["data"]

    async def _serve_offers(self) -> None:
        assert self.ws is not None
        async for raw in self.ws:
            frame = json.loads(raw)
            if frame["type"] == "offer":
                offer = RTCSessionDescription(frame["data"]["sdp"], "offer")
                await self.pc.setRemoteDescription(offer)
                await self.pc.setLocalDescription(await self.pc.createAnswer())
                answer = {"type": "answer", "sdp": self.pc.localDescription.sdp}
                await self.ws.send(json.dumps(answer))

    def _count(self, track: MediaStreamTrack) -> None:
        async def consume() -> None:
            while True:
                try:
                    await track.recv()
                except MediaStreamError:
                    return
                self.frames += 1

        self.tasks.append(asyncio.create_task(consume()))

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.pc.close()
        if self.ws is not None:
            await self.ws.close()


async def new_user(api: httpx.AsyncClient) -> tuple[str, str]:
    email = f"sfu-bench-{uuid.uuid4().hex[:10]}@example.com"
    body = {"email": email, "password": PASSWORD, "display_name": "SFU bench"}
    registered = await api.post("/api/v1/auth/register", json=body)
    registered.raise_for_status()
    login = await api.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    login.raise_for_status()
    return registered.json()["user_id"], login.json()["access_token"]


async def set_up_call(api: httpx.AsyncClient, people: int) -> tuple[str, list[str]]:
    """(call id, tokens): the first token placed the call, every other one joined it."""
    users = [await new_user(api) for _ in range(people)]
    owner = {"Authorization": f"Bearer {users[0][1]}"}
    body = {"type": "group", "title": "sfu bench", "participant_ids": [u for u, _ in users[1:]]}
    conversation = await api.post("/api/v1/conversations", json=body, headers=owner)
    conversation.raise_for_status()
    call_body = {"conversation_id": conversation.json()["conversation_id"], "mode": "sfu"}
    call = await api.post("/api/v1/calls", json=call_body, headers=owner)
    call.raise_for_status()
    call_id = call.json()["call_id"]
    for _, token in users[1:]:
        joined = await api.post(
            f"/api/v1/calls/{call_id}/join", headers={"Authorization": f"Bearer {token}"}
        )
        joined.raise_for_status()
    return call_id, [token for _, token in users]


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


async def sample(
    process: psutil.Process, subscribers: list[Participant], warmup_s: float, seconds: float
) -> tuple[float, float]:
    """(percent of one core, mean frames per second per subscriber) over `seconds`."""
    await asyncio.sleep(warmup_s)  # a measurement window, not a wait for a condition
    cpu_before, frames_before, started = (
        cpu_seconds(process),
        [s.frames for s in subscribers],
        time.monotonic(),
    )
    await asyncio.sleep(seconds)
    elapsed = time.monotonic() - started
    cpu = (cpu_seconds(process) - cpu_before) / elapsed * 100
    received = [s.frames - b for s, b in zip(subscribers, frames_before, strict=True)]
    fps = sum(received) / len(received) / elapsed if received else 0.0
    return cpu, fps


async def run(platform: LocalPlatform, steps: list[int], warmup_s: float, seconds: float) -> None:
    gateway = platform.endpoint("gateway").url or ""
    process = psutil.Process(platform.endpoint("video").pid)
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as api:
        call_id, tokens = await set_up_call(api, max(steps) + 1)
    ws_url = gateway.replace("http://", "ws://", 1) + f"/ws/calls/{call_id}"
    publisher = Participant(tokens[0])
    subscribers: list[Participant] = []
    try:
        await publisher.connect(ws_url, publish=True)
        baseline, _ = await sample(process, [], warmup_s, seconds)
        print(f"baseline (publisher only, decode): {baseline:.1f}% of one core")
        print(f"{'tracks':>6} {'SFU CPU %':>10} {'per track %':>12} {'fps/track':>10}")
        for step in steps:
            while len(subscribers) < step:
                subscriber = Participant(tokens[len(subscribers) + 1])
                await subscriber.connect(ws_url, publish=False)
                subscribers.append(subscriber)
            cpu, fps = await sample(process, subscribers, warmup_s, seconds)
            per_track = (cpu - baseline) / step
            print(f"{step:>6} {cpu:>10.1f} {per_track:>12.1f} {fps:>10.1f}", flush=True)
    finally:
        for participant in [publisher, *subscribers]:
            await participant.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", default="3,6,9")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    args = parser.parse_args()
    steps = sorted({int(n) for n in args.tracks.split(",")})
    platform = LocalPlatform(components=default_components(["auth", "chat", "video"]))
    platform.up()
    try:
        print(f"machine: {psutil.cpu_count()} cores; frames {FRAME_SIZE[0]}x{FRAME_SIZE[1]} @30")
        asyncio.run(run(platform, steps, args.warmup, args.seconds))
    finally:
        platform.down()


if __name__ == "__main__":
    sys.exit(main())
