"""One direction of a proxied connection: source socket → toxics → destination.

Two paths carry the data. While no toxic applies to the link, bytes read
from the source are written to the destination inside ``data_received``:
no task, no queue, no copy beyond the kernel's, which is what keeps a
toxic-free proxy close to a direct connection. Once a toxic applies,
chunks are stamped with their arrival time and queued for a pump task that
walks them through the stages in order; when the last toxic goes and the
queue is empty the pump ends and the fast path takes over again, so the
byte order is never broken.

Back-pressure: reading from the source pauses while the destination's
write buffer is over its high-water mark or while too much data waits in
the queue, so a slow peer or a stalled toxic never grows memory unbounded.
"""

from __future__ import annotations

import asyncio
from collections import deque
from functools import partial
from typing import TYPE_CHECKING

from harness.toxiproxy.server.stages import MAX_DELAY_S, Chunk, Stage, new_stage
from harness.toxiproxy.server.toxics import UPSTREAM, Toxic

if TYPE_CHECKING:
    from harness.toxiproxy.server.proxy import Connection

# Bytes a toxic may hold back per link before reading from the source pauses.
QUEUE_LIMIT_BYTES = 4 * 1024 * 1024


class Link:
    """Carries one stream ("upstream" or "downstream") of one connection."""

    def __init__(self, connection: Connection, stream: str) -> None:
        self.loop = asyncio.get_running_loop()
        self.connection = connection
        self.stream = stream
        self.source: asyncio.Transport | None = None
        self.dest: asyncio.Transport | None = None
        self.finished = False  # the close of the source was passed on
        self._closed = False
        self._queue: deque[Chunk | None] = deque()  # None marks the source's EOF
        self._queued_bytes = 0
        self._pump: asyncio.Task[None] | None = None
        self._data_ready = asyncio.Event()
        self._changed = asyncio.Event()
        self._generation = 0
        self._pump_generation = 0
        self._writable = asyncio.Event()
        self._writable.set()
        self._dest_full = False
        self._queue_full = False
        self._reading_paused = False
        self.stages: list[Stage] = []
        self._active = False
        self._stats = connection.proxy.stats

    # -- data from the source -------------------------------------------------

    def receive(self, data: bytes | memoryview) -> bool:
        """Take bytes read from the source; True if ``data`` went on uncopied."""
        if self.stream == UPSTREAM:
            self._stats.bytes_upstream += len(data)
        else:
            self._stats.bytes_downstream += len(data)
        if self._pump is None and not self._active:
            assert self.dest is not None
            self.dest.write(data)
            return True
        self._queue.append(Chunk(bytes(data), self.loop.time()))
        self._queued_bytes += len(data)
        if self._queued_bytes > QUEUE_LIMIT_BYTES and not self._queue_full:
            self._queue_full = True
            self._update_reading()
        self._wake_pump()
        return False

    def receive_eof(self) -> None:
        if self._pump is None and not self._active:
            self._pass_eof()
            return
        self._queue.append(None)
        self._wake_pump()

    # -- flow control ---------------------------------------------------------

    def dest_full(self) -> None:
        self._dest_full = True
        self._writable.clear()
        self._update_reading()

    def dest_drained(self) -> None:
        self._dest_full = False
        self._writable.set()
        self._update_reading()

    @property
    def paused(self) -> bool:
        """Whether this link holds reading from its source paused."""
        return self._reading_paused

    def _update_reading(self) -> None:
        pause = self._dest_full or self._queue_full
        source = self.source
        if pause == self._reading_paused or source is None or source.is_closing():
            return
        self._reading_paused = pause
        if pause:
            source.pause_reading()
        else:
            source.resume_reading()

    # -- the toxic chain ------------------------------------------------------

    def add_toxic(self, toxic: Toxic) -> None:
        self.stages.append(new_stage(toxic, self))
        self._chain_changed()

    def update_toxic(self, toxic: Toxic) -> None:
        for stage in self.stages:
            if stage.name == toxic.name:
                stage.update(toxic)
        self._chain_changed()

    def remove_toxic(self, name: str) -> None:
        removed = [stage for stage in self.stages if stage.name == name]
        self.stages = [stage for stage in self.stages if stage.name != name]
        self._chain_changed()
        for stage in removed:
            stage.remove()

    def _chain_changed(self) -> None:
        # Interrupts every stage sleeping on the old chain; see ``sleep``.
        self._generation += 1
        self._changed.set()
        self._changed = asyncio.Event()
        self._active = any(stage.applies for stage in self.stages)
        self._data_ready.set()

    async def sleep(self, seconds: float) -> bool:
        """Sleep unless the chain changes; False when interrupted."""
        if self._pump_generation != self._generation:
            return False
        if seconds <= 0:
            return True
        changed = self._changed
        try:
            async with asyncio.timeout(min(seconds, MAX_DELAY_S)):
                await changed.wait()
        except TimeoutError:
            return True
        return False

    def close_connection(self) -> bool:
        """Close the connection; False when it was closed already."""
        if self.connection.closed:
            return False
        self.connection.close()
        return True

    def reset_connection(self) -> bool:
        """Reset the connection (TCP RST); False when it was closed already."""
        if self.connection.closed:
            return False
        self.connection.close(reset=True)
        return True

    # -- the pump -------------------------------------------------------------

    def _wake_pump(self) -> None:
        self._data_ready.set()
        if self._pump is None and not self._closed:
            self._pump = self.loop.create_task(self._run_pump())

    async def _run_pump(self) -> None:
        while not self._closed:
            if not self._queue:
                if not self._active:
                    break  # no await between this check and clearing the pump
                self._data_ready.clear()
                await self._data_ready.wait()
                continue
            item = self._queue.popleft()
            stages = [stage for stage in self.stages if stage.applies]
            self._pump_generation = self._generation
            if item is None:
                for stage in stages:
                    await stage.at_eof()
                self._pass_eof()
                break
            self._dequeued(len(item.data))
            await self._push(stages, 0, item)
        self._pump = None

    def _dequeued(self, size: int) -> None:
        self._queued_bytes -= size
        if self._queue_full and self._queued_bytes <= QUEUE_LIMIT_BYTES // 2:
            self._queue_full = False
            self._update_reading()

    async def _push(self, stages: list[Stage], index: int, chunk: Chunk) -> None:
        # A stage removed while this chunk was on its way no longer acts on it.
        while index < len(stages) and stages[index] not in self.stages:
            index += 1
        if index == len(stages):
            await self._write(chunk.data)
            return
        await stages[index].feed(chunk, partial(self._push, stages, index + 1))

    async def _write(self, data: bytes) -> None:
        if self._closed or not data:
            return
        assert self.dest is not None
        self.dest.write(data)
        if not self._writable.is_set():
            await self._writable.wait()

    def _pass_eof(self) -> None:
        if self._closed:
            return
        self.finished = True
        # Half-close: the other stream keeps flowing until its source closes too.
        if self.dest is not None and not self.dest.is_closing() and self.dest.can_write_eof():
            self.dest.write_eof()
        self.connection.link_finished()

    def shutdown(self) -> None:
        """Stop all activity; the connection closes the sockets."""
        self._closed = True
        for stage in self.stages:
            stage.stop()
        pump = self._pump
        if pump is not None and pump is not asyncio.current_task():
            pump.cancel()
        self._writable.set()
