"""WebRTC clients for calls: signaling over `/ws/calls/{id}` and aiortc peers that send a
generated video track and count the frames they decode.

Used by the SFU checks and the video service's tests alike; every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import av
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import MediaStreamError
from websockets.asyncio.client import ClientConnection, connect

#: Every wait on a signaling frame ends by this deadline, seconds.
FRAME_DEADLINE_S = 10.0
FRAME_SIZE = (320, 240)


def ws_base(base_url: str) -> str:
    return base_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)


def calls_ws_url(base_url: str, call_id: str, token: str | None) -> str:
    url = f"{ws_base(base_url)}/ws/calls/{call_id}"
    return url if token is None else f"{url}?token={token}"


def peer_connection() -> RTCPeerConnection:
    """No ICE servers: aiortc's default would contact a public STUN server."""
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


class ShadeTrack(VideoStreamTrack):
    """A flat grey picture of one brightness: the receiver can tell whose it is."""

    def __init__(self, luma: int) -> None:
        super().__init__()
        self.luma = luma

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(width=FRAME_SIZE[0], height=FRAME_SIZE[1], format="yuv420p")
        for index, plane in enumerate(frame.planes):
            plane.update(bytes([self.luma if index == 0 else 128]) * plane.buffer_size)
        frame.pts, frame.time_base = pts, time_base
        return frame


def mean_luma(frame: av.VideoFrame) -> float:
    """Mean of the Y plane's visible pixels (each row is padded to `line_size`)."""
    plane = frame.planes[0]
    data, width, stride = bytes(plane), plane.width, plane.line_size
    rows = [data[row * stride : row * stride + width] for row in range(plane.height)]
    return sum(sum(row) for row in rows) / (width * plane.height)


class Signaling:
    """One `/ws/calls/{id}` connection, read frame by frame with deadlines."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.passed: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, base_url: str, call_id: str, token: str | None) -> Signaling:
        connection = await connect(calls_ws_url(base_url, call_id, token), open_timeout=5)
        return cls(connection)

    async def send(self, frame: dict[str, Any] | str) -> None:
        await self.connection.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def next(
        self,
        frame_type: str,
        where: Callable[[dict[str, Any]], bool] = lambda _: True,
        deadline_s: float = FRAME_DEADLINE_S,
    ) -> dict[str, Any]:
        end = time.monotonic() + deadline_s
        while True:
            remaining = end - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {frame_type} frame within {deadline_s}s: {self.passed}")
            async with asyncio.timeout(remaining):
                frame = json.loads(await self.connection.recv())
            if frame["type"] == frame_type and where(frame["data"]):
                return frame["data"]
            self.passed.append(frame)

    async def closed(self, deadline_s: float = FRAME_DEADLINE_S) -> tuple[int | None, str]:
        """Read until the server closes; its (code, reason)."""
        async with asyncio.timeout(deadline_s):
            await self.connection.wait_closed()
        return self.connection.close_code, self.connection.close_reason or ""

    async def close(self) -> None:
        await self.connection.close()


class FrameCounter:
    """Decodes a remote track and counts its frames (and remembers their brightness)."""

    def __init__(self, track: MediaStreamTrack, mid: str | None) -> None:
        self.track = track
        self.mid = mid
        self.frames = 0
        self.lumas: list[float] = []
        self.task = asyncio.create_task(self._consume())

    async def _consume(self) -> None:
        while True:
            try:
                frame = await self.track.recv()
            except MediaStreamError:
                return
            self.frames += 1
            if self.frames % 10 == 1 and isinstance(frame, av.VideoFrame):
                self.lumas.append(mean_luma(frame))

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


class SfuClient:
    """A participant of an SFU call: one aiortc peer, renegotiating when the server offers."""

    def __init__(self, signaling: Signaling, luma: int | None) -> None:
        self.signaling = signaling
        self.pc = peer_connection()
        self.counters: list[FrameCounter] = []
        #: mid → user id, from the server's `tracks` frames.
        self.owners: dict[str, str] = {}
        self.errors: list[dict[str, Any]] = []
        self.negotiations = 0
        if luma is None:
            self.pc.addTransceiver("video", direction="recvonly")
        else:
            self.pc.addTrack(ShadeTrack(luma))
        self.pc.on("track", self._on_track)
        self._reader: asyncio.Task[None] | None = None

    @classmethod
    async def join(
        cls, base_url: str, call_id: str, access_token: str, luma: int | None = 100
    ) -> SfuClient:
        signaling = await Signaling.open(base_url, call_id, access_token)
        await signaling.next("ready")
        client = cls(signaling, luma)
        await client.pc.setLocalDescription(await client.pc.createOffer())
        await signaling.send({"type": "offer", "sdp": client.pc.localDescription.sdp})
        answer = await signaling.next("answer")
        await client.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        client._reader = asyncio.create_task(client._read())
        return client

    def _on_track(self, track: MediaStreamTrack) -> None:
        mid = next((t.mid for t in self.pc.getTransceivers() if t.receiver.track is track), None)
        self.counters.append(FrameCounter(track, mid))

    async def _read(self) -> None:
        while True:
            raw = await self.signaling.connection.recv()
            frame = json.loads(raw)
            kind, data = frame["type"], frame["data"]
            if kind == "offer":
                await self.pc.setRemoteDescription(RTCSessionDescription(data["sdp"], "offer"))
                await self.pc.setLocalDescription(await self.pc.createAnswer())
                await self.signaling.send({"type": "answer", "sdp": self.pc.localDescription.sdp})
                self.negotiations += 1
            elif kind == "tracks":
                self.owners = {t["mid"]: t["user_id"] for t in data["tracks"]}
            elif kind == "error":
                self.errors.append(data)

    def frames_from(self, user_id: str) -> int:
        return sum(c.frames for c in self.counters if self.owners.get(c.mid or "") == user_id)

    def lumas_from(self, user_id: str) -> list[float]:
        return [
            luma
            for c in self.counters
            if self.owners.get(c.mid or "") == user_id
            for luma in c.lumas
        ]

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        for counter in self.counters:
            await counter.stop()
        await self.pc.close()
        await self.signaling.close()
