"""Call recording: the SFU's tracks into files (MediaFile), files into S3.

Only calls placed with `record: true` (mode sfu) are recorded. Each time a
participant's offer brings tracks, one MediaFile (media_file.py) writes them
(audio and video together) to an MP4 in the spool directory. When that participant
leaves, or the call ends, the recorder is stopped, the file is uploaded to
`recordings/<call id>/<recording id>.mp4` with the shared S3 client (retries
and circuit breaker) and listed in `call_recordings`; then the local file is
removed. An upload that still fails is tried again RECORDING_UPLOAD_ATTEMPTS
times, RECORDING_RETRY_S apart, and otherwise left in the spool directory
(and logged) rather than lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import av
from minio import Minio

from secureconnect.common.clock import Clock
from secureconnect.common.errors import DomainError
from secureconnect.common.s3 import ResilientS3
from secureconnect.video.media_file import MediaFile
from secureconnect.video.metrics import RECORDINGS
from secureconnect.video.sfu import SfuRoom, Source
from secureconnect.video.store import CallRecord, CallStore, Recording, utc

log = logging.getLogger(__name__)

RECORDING_UPLOAD_ATTEMPTS = 5
#: Pause between upload attempts of one recording, seconds.
RECORDING_RETRY_S = 5.0
RECORDING_PREFIX = "recordings"


@dataclass(eq=False)
class ActiveRecording:
    id: uuid.UUID
    call_id: uuid.UUID
    user_id: uuid.UUID
    path: Path
    recorder: MediaFile
    has_video: bool


@dataclass
class _CallRecordings:
    active: list[ActiveRecording] = field(default_factory=list)


def media_duration_s(path: Path) -> float | None:
    """The container's duration (blocking: run it on a thread)."""
    with av.open(str(path)) as container:
        if container.duration is None:
            return None
        return container.duration / av.time_base


class CallRecorder:
    def __init__(
        self,
        store: CallStore,
        s3: ResilientS3,
        bucket: str,
        spool_dir: Path,
        clock: Clock,
        service: str,
        presigner: Minio | None,
    ) -> None:
        """`presigner`: signs download URLs for the S3 endpoint clients see (None: the
        one the service uses)."""
        self.store = store
        self.s3 = s3
        self.bucket = bucket
        self.presigner = presigner
        self.spool_dir = spool_dir
        self.clock = clock
        self.service = service
        self.calls: dict[uuid.UUID, _CallRecordings] = {}
        self._uploads: set[asyncio.Task[None]] = set()

    def attach(self, room: SfuRoom) -> None:
        """Record what `room` receives from now on (idempotent)."""
        if room.call_id in self.calls:
            return
        self.calls[room.call_id] = _CallRecordings()

        async def on_sources(user_id: uuid.UUID, sources: list[Source]) -> None:
            await self._start(room, user_id, sources)

        room.on_sources.append(on_sources)

    async def _start(self, room: SfuRoom, user_id: uuid.UUID, sources: list[Source]) -> None:
        recordings = self.calls.get(room.call_id)
        if recordings is None:  # the call ended meanwhile
            return
        recording_id = uuid.uuid4()
        directory = self.spool_dir / str(room.call_id)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{recording_id}.mp4"
        recorder = MediaFile(path, [room.relay.subscribe(s.track) for s in sources])
        recorder.start()
        has_video = any(s.track.kind == "video" for s in sources)
        recordings.active.append(
            ActiveRecording(recording_id, room.call_id, user_id, path, recorder, has_video)
        )

    async def call_changed(self, before: CallRecord, after: CallRecord) -> None:
        if after.state == "ended":
            await self.finish(after.id, None)
            self.calls.pop(after.id, None)
            return
        gone = set(before.joined) - set(after.joined)
        for user_id in gone:
            await self.finish(after.id, user_id)

    async def finish(self, call_id: uuid.UUID, user_id: uuid.UUID | None) -> None:
        """Stop the recordings of `user_id` (everyone's when None) and upload them."""
        recordings = self.calls.get(call_id)
        if recordings is None:
            return
        done = [r for r in recordings.active if user_id is None or r.user_id == user_id]
        recordings.active = [r for r in recordings.active if r not in done]
        for recording in done:
            if await self._stop(recording):
                task = asyncio.create_task(
                    self._upload_logged(recording), name=f"upload-{recording.id}"
                )
                self._uploads.add(task)
                task.add_done_callback(self._uploads.discard)

    async def _stop(self, recording: ActiveRecording) -> bool:
        try:
            stats = await recording.recorder.close()
        except (av.error.FFmpegError, ValueError) as exc:  # the file's end could not be written
            log.warning("recording not finished", extra={"error": repr(exc)})
        else:
            log.info(
                "recording stopped",
                extra={
                    "recording": str(recording.id),
                    "frames": stats.frames,
                    "dropped": stats.dropped,
                },
            )
        if not recording.path.exists() or recording.path.stat().st_size == 0:
            RECORDINGS.labels(self.service, "empty").inc()
            recording.path.unlink(missing_ok=True)
            return False
        return True

    async def _upload_logged(self, recording: ActiveRecording) -> None:
        try:
            await self._upload(recording)
        except Exception:  # a background task: its failure must at least be seen
            RECORDINGS.labels(self.service, "upload_error").inc()
            log.exception("recording upload crashed", extra={"recording": str(recording.id)})

    async def _upload(self, recording: ActiveRecording) -> None:
        key = f"{RECORDING_PREFIX}/{recording.call_id}/{recording.id}.mp4"
        content_type = "video/mp4" if recording.has_video else "audio/mp4"
        path = recording.path
        try:
            duration = await asyncio.to_thread(media_duration_s, path)
        except (OSError, av.error.FFmpegError) as exc:
            log.warning("recording unreadable", extra={"path": str(path), "error": repr(exc)})
            RECORDINGS.labels(self.service, "unreadable").inc()
            path.unlink(missing_ok=True)
            return
        for attempt in range(1, RECORDING_UPLOAD_ATTEMPTS + 1):
            try:
                await self.s3.call(
                    "put_recording",
                    lambda: self.s3.client.fput_object(
                        self.bucket, key, str(path), content_type=content_type
                    ),
                )
                break
            except DomainError as exc:
                log.warning(
                    "recording upload failed", extra={"attempt": attempt, "error": exc.code}
                )
                if attempt == RECORDING_UPLOAD_ATTEMPTS:
                    RECORDINGS.labels(self.service, "upload_failed").inc()
                    return  # left in the spool directory for an operator
                await asyncio.sleep(RECORDING_RETRY_S)  # S3 is away; give it time to return
        size = path.stat().st_size
        await self.store.add_recording(
            Recording(
                recording.id,
                recording.call_id,
                recording.user_id,
                key,
                content_type,
                size,
                duration,
                utc(self.clock.now()),
            )
        )
        RECORDINGS.labels(self.service, "uploaded").inc()
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            path.parent.rmdir()

    async def drain(self) -> None:
        """Wait for the uploads in flight."""
        while self._uploads:
            await asyncio.gather(*list(self._uploads), return_exceptions=True)

    async def close(self) -> None:
        for call_id in list(self.calls):
            await self.finish(call_id, None)
        self.calls.clear()
        await self.drain()

    def presign(self, recording: Recording, ttl_s: int) -> str:
        """A URL that downloads the recording for `ttl_s` seconds."""
        return self.s3.presign(
            "GET", self.bucket, recording.object_key, ttl_s, client=self.presigner
        )


def clear_spool(spool_dir: Path) -> None:
    """Remove empty call directories left by a previous process (files are kept)."""
    if not spool_dir.exists():
        return
    for directory in spool_dir.iterdir():
        if directory.is_dir() and not any(directory.iterdir()):
            shutil.rmtree(directory, ignore_errors=True)
