"""The recorder's file writer against the timestamps a live network hands it: repeated,
late and closer than one frame tick; tracks that start late or never. Every file it
closes is one PyAV can read back."""

from __future__ import annotations

import asyncio
from fractions import Fraction
from pathlib import Path

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from secureconnect.video.media_file import MediaFile

VIDEO_CLOCK = Fraction(1, 90_000)
#: One frame at 30 frames/s on the video clock.
TICK = 3000
AUDIO_RATE = 48_000
AUDIO_SAMPLES = 960


class ListTrack(MediaStreamTrack):
    """Hands out the frames it was given (after `delay_s`), then stays silent: a live
    track whose sender paused, so the file is closed while it is still live."""

    def __init__(self, kind: str, frames: list[av.AudioFrame | av.VideoFrame], delay_s: float = 0):
        super().__init__()
        self.kind = kind
        self.frames = list(frames)
        self.delay_s = delay_s

    async def recv(self) -> av.AudioFrame | av.VideoFrame:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
            self.delay_s = 0
        if not self.frames:
            await asyncio.Event().wait()
            raise MediaStreamError
        await asyncio.sleep(0)
        return self.frames.pop(0)


def video_frames(pts: list[int]) -> list[av.VideoFrame]:
    frames = []
    for value in pts:
        frame = av.VideoFrame(width=320, height=240, format="yuv420p")
        for plane in frame.planes:
            plane.update(bytes([value % 255]) * plane.buffer_size)
        frame.pts, frame.time_base = value, VIDEO_CLOCK
        frames.append(frame)
    return frames


def audio_frames(count: int) -> list[av.AudioFrame]:
    frames = []
    for index in range(count):
        frame = av.AudioFrame(format="s16", layout="stereo", samples=AUDIO_SAMPLES)
        frame.planes[0].update(bytes(frame.planes[0].buffer_size))
        frame.sample_rate = AUDIO_RATE
        frame.pts, frame.time_base = index * AUDIO_SAMPLES, Fraction(1, AUDIO_RATE)
        frames.append(frame)
    return frames


async def record(path: Path, tracks: list[MediaStreamTrack], for_s: float = 0.5):
    media = MediaFile(path, tracks)
    media.start()
    await asyncio.sleep(for_s)
    return await media.close()


def streams_of(path: Path) -> dict[str, float]:
    """Kind → duration in seconds of each stream of the file (it must open)."""
    with av.open(str(path)) as container:
        assert container.duration is not None and container.duration > 0
        return {
            s.type: float(s.duration * s.time_base) if s.duration else 0.0
            for s in container.streams
        }


async def test_frames_closer_than_a_tick_repeated_or_late_still_make_a_file(
    tmp_path: Path,
) -> None:
    """aiortc's MediaRecorder loses this file at its flush (EINVAL from the muxer)."""
    start = 1_234_567
    steady = [start + TICK * i for i in range(30)]
    jitter = [steady[-1] + TICK // 2, steady[-1] + TICK // 2, steady[10], steady[-1] + TICK * 2]
    path = tmp_path / "jitter.mp4"
    stats = await record(path, [ListTrack("video", video_frames(steady + jitter))])
    assert stats.frames == {"video": 32} and stats.dropped == {"video": 2}
    assert streams_of(path)["video"] > 1.0


async def test_frames_rebased_by_the_other_consumers_are_read_as_seconds_and_left_as_they_came(
    tmp_path: Path,
) -> None:
    """The SFU's relay hands one frame object to every consumer; its forwarding encoders
    rebase the pts in place (here: every other frame to microseconds)."""
    frames = video_frames([TICK * i for i in range(30)])
    for frame in frames[1::2]:
        frame.pts = round(frame.pts * frame.time_base * 1_000_000)
        frame.time_base = Fraction(1, 1_000_000)
    as_they_came = [(f.pts, f.time_base) for f in frames]
    path = tmp_path / "shared.mp4"
    stats = await record(path, [ListTrack("video", frames)])
    assert stats.frames == {"video": 30} and stats.dropped == {"video": 0}
    assert [(f.pts, f.time_base) for f in frames] == as_they_came
    assert streams_of(path)["video"] > 0.9


async def test_audio_ahead_of_the_first_video_frame_waits_for_it(tmp_path: Path) -> None:
    path = tmp_path / "both.mp4"
    audio = ListTrack("audio", audio_frames(50))
    video = ListTrack("video", video_frames([TICK * i for i in range(20)]), delay_s=0.3)
    stats = await record(path, [audio, video], for_s=0.8)
    assert stats.frames == {"audio": 50, "video": 20}
    assert set(streams_of(path)) == {"audio", "video"}


async def test_a_track_that_never_sends_leaves_the_others_readable(tmp_path: Path) -> None:
    path = tmp_path / "silent-video.mp4"
    stats = await record(path, [ListTrack("audio", audio_frames(50)), ListTrack("video", [])])
    assert stats.frames == {"audio": 50, "video": 0}
    assert streams_of(path)["audio"] > 0.5


async def test_nothing_received_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "nothing.mp4"
    stats = await record(path, [ListTrack("video", [])], for_s=0.1)
    assert stats.written == 0
    assert not path.exists() or path.stat().st_size == 0
