"""One participant's live tracks written to an MP4 as their frames arrive (PyAV).

Written here rather than taken from aiortc's MediaRecorder, which loses whole files:
it encodes video on a 1/30 s tick, so two frames whose RTP timestamps fall in one
tick (late packets, a retransmitted frame, a loaded receiver) hand the MP4 muxer a
timestamp that does not increase; the muxer refuses it during the final flush, the
container is never closed and the file cannot be read. It also writes the file's
header at the first packet of any stream, before a video stream knows its size.

Here every stream counts from its track's first frame, in the RTP video clock or the
audio's sample rate, reading each frame's time as seconds: the SFU's relay hands the
same frame object to every consumer, and the encoders forwarding it rebase its pts in
place. A frame that does not move the clock forward is dropped and counted. Packets
wait until every track has sent its first frame, or START_WINDOW_S have passed (a
track that sent nothing by then is written empty, at a default size), and the
container is closed whatever the flush did.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

log = logging.getLogger(__name__)

#: How long packets wait for every track's first frame, seconds.
START_WINDOW_S = 3.0
#: The size a video stream is written at when its track sent nothing.
DEFAULT_VIDEO_SIZE = (320, 240)
VIDEO_FRAME_RATE = 30
VIDEO_CLOCK = Fraction(1, 90_000)


@dataclass(eq=False)
class _Track:
    track: MediaStreamTrack
    stream: av.stream.Stream
    #: The stream's time base: the RTP video clock, or the audio's sample rate.
    clock: Fraction = VIDEO_CLOCK
    #: The first frame's time, seconds; the file's zero.
    start: Fraction | None = None
    last_pts: int | None = None
    frames: int = 0
    dropped: int = 0
    task: asyncio.Task[None] | None = None

    @property
    def started(self) -> bool:
        return self.start is not None


@dataclass
class MediaFileStats:
    """What a finished file holds, per track kind: frames written and dropped."""

    frames: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)

    @property
    def written(self) -> int:
        return sum(self.frames.values())


class MediaFile:
    """Record `tracks` into `path` (MP4: H.264 video, AAC audio) until `close()`."""

    def __init__(self, path: Path, tracks: list[MediaStreamTrack]) -> None:
        self._container = av.open(str(path), mode="w")
        self._tracks = [_Track(t, self._add_stream(t.kind)) for t in tracks]
        self._waiting: list[av.Packet] = []
        self._window: asyncio.TimerHandle | None = None
        self._header_written = False

    def _add_stream(self, kind: str) -> av.stream.Stream:
        if kind == "audio":
            return self._container.add_stream("aac")
        stream = self._container.add_stream("libx264", rate=VIDEO_FRAME_RATE)
        stream.pix_fmt = "yuv420p"
        return stream

    def start(self) -> None:
        for entry in self._tracks:
            entry.task = asyncio.create_task(self._read(entry), name=f"record-{entry.track.id}")

    async def close(self) -> MediaFileStats:
        """Stop reading, flush the encoders and close the file (also after a failure)."""
        for entry in self._tracks:
            if entry.task is not None:
                entry.task.cancel()
        await asyncio.gather(*(e.task for e in self._tracks if e.task), return_exceptions=True)
        if self._window is not None:
            self._window.cancel()
        try:
            if any(e.started for e in self._tracks):
                self._flush()
        finally:
            self._container.close()
        stats = MediaFileStats()
        for e in self._tracks:  # two tracks of one kind (a camera and a screen) add up
            stats.frames[e.track.kind] = stats.frames.get(e.track.kind, 0) + e.frames
            stats.dropped[e.track.kind] = stats.dropped.get(e.track.kind, 0) + e.dropped
        return stats

    async def _read(self, entry: _Track) -> None:
        while True:
            try:
                frame = await entry.track.recv()
            except MediaStreamError:
                return
            try:
                self._write(entry, frame)
            except (av.error.FFmpegError, ValueError) as exc:  # one bad frame, not the file
                entry.dropped += 1
                log.warning("recording frame refused", extra={"error": repr(exc)})

    def _write(self, entry: _Track, frame: av.AudioFrame | av.VideoFrame) -> None:
        if frame.pts is None or frame.time_base is None:
            entry.dropped += 1
            return
        # Read as seconds: the SFU's other consumers of this very frame object rebase its
        # pts to their own time base in place.
        at = frame.pts * frame.time_base
        if entry.start is None:
            self._first_frame(entry, frame, at)
        pts = round((at - entry.start) / entry.clock)
        if entry.last_pts is not None and pts <= entry.last_pts:
            entry.dropped += 1  # a repeated or late frame: the muxer needs time to advance
            return
        entry.last_pts = pts
        self._mux(self._encode(entry, frame, pts))
        entry.frames += 1

    def _encode(
        self, entry: _Track, frame: av.AudioFrame | av.VideoFrame, pts: int
    ) -> list[av.Packet]:
        """Encode `frame` at `pts` and hand it back as it came (shared, see `_write`)."""
        original = frame.pts, frame.time_base
        frame.pts, frame.time_base = pts, entry.clock
        try:
            return entry.stream.encode(frame)
        finally:
            frame.pts, frame.time_base = original

    def _first_frame(
        self, entry: _Track, frame: av.AudioFrame | av.VideoFrame, at: Fraction
    ) -> None:
        entry.start = at
        context = entry.stream.codec_context
        if isinstance(frame, av.VideoFrame):
            context.width, context.height = frame.width, frame.height
        else:
            entry.clock = Fraction(1, frame.sample_rate)
        context.time_base = entry.clock
        if self._window is None:
            self._window = asyncio.get_running_loop().call_later(
                START_WINDOW_S, self._window_passed
            )

    def _window_passed(self) -> None:
        try:
            self._open()
        except (av.error.FFmpegError, ValueError) as exc:  # the file is lost; say why
            log.warning("recording header refused", extra={"error": repr(exc)})

    def _mux(self, packets: list[av.Packet]) -> None:
        if self._header_written:
            for packet in packets:
                self._container.mux(packet)
            return
        self._waiting.extend(packets)
        if all(e.started for e in self._tracks):
            self._open()

    def _open(self) -> None:
        """Write the header and what waited for it; a video track still silent is written
        empty at a default size."""
        if self._header_written:
            return
        for entry in self._tracks:
            if not entry.started and entry.track.kind == "video":
                entry.stream.codec_context.width, entry.stream.codec_context.height = (
                    DEFAULT_VIDEO_SIZE
                )
        self._header_written = True
        waiting, self._waiting = self._waiting, []
        self._mux(waiting)

    def _flush(self) -> None:
        for entry in self._tracks:
            if entry.started:
                self._mux(entry.stream.encode(None))
        self._open()
