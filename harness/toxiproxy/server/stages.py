"""What each toxic does to one direction of one connection.

A ``Stage`` is a toxic applied to a link, like a ToxicStub in Toxiproxy:
it decides once (and again on every update) whether it applies to this
connection, with probability ``toxicity``, and then transforms the chunks
flowing through. Stages sleep through ``link.sleep`` so that adding, updating
or removing a toxic interrupts them and data held in a sleep is passed on
instead of dropped, the way Toxiproxy interrupts a stub.

Every stage counts into its toxic's ``stats``: the connection joining, the
toxicity roll applying (once per connection, whatever the re-rolls), and
each action it takes, so a scenario can prove its fault touched traffic.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from harness.toxiproxy.server.toxics import Toxic

# Delays are clamped so a huge attribute cannot overflow the event loop's timers.
MAX_DELAY_S = 365 * 24 * 3600.0
# Toxiproxy's bandwidth toxic releases large chunks in 100 ms slices.
BANDWIDTH_SLICE_S = 0.1


@dataclass(slots=True)
class Chunk:
    data: bytes
    arrived: float  # loop time when the proxy read it


Emit = Callable[[Chunk], Awaitable[None]]


class LinkControl(Protocol):
    """What a stage may ask of the link it sits on."""

    loop: asyncio.AbstractEventLoop

    async def sleep(self, seconds: float) -> bool: ...

    def close_connection(self) -> bool: ...

    def reset_connection(self) -> bool: ...


def _seconds(milliseconds: float) -> float:
    return min(max(milliseconds, 0) / 1000.0, MAX_DELAY_S)


class Stage:
    """A toxic on one link; the base class passes data through unchanged."""

    def __init__(self, toxic: Toxic, link: LinkControl) -> None:
        self.toxic = toxic
        self.link = link
        self._timer: asyncio.TimerHandle | None = None
        self._counted_applied = False
        toxic.stats.connections_joined += 1
        self._roll()
        self.started()

    @property
    def name(self) -> str:
        return self.toxic.name

    def attr(self, key: str) -> int:
        return self.toxic.attributes.get(key, 0)

    def count(self, action: str, amount: int = 1) -> None:
        self.toxic.stats.count(action, amount)

    def _roll(self) -> None:
        self.applies = random.random() < self.toxic.toxicity
        if self.applies and not self._counted_applied:
            self._counted_applied = True
            self.toxic.stats.connections_applied += 1

    def started(self) -> None:
        """Called when the stage joins a link and after each update."""

    def update(self, toxic: Toxic) -> None:
        # Toxiproxy re-runs the stub on update, which rolls toxicity again.
        self.stop()
        self.toxic = toxic
        self._roll()
        self.started()

    def remove(self) -> None:
        """Called when the toxic is removed from a live link."""
        self.stop()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm(self, delay_s: float, action: Callable[[], None]) -> None:
        self.stop()
        self._timer = self.link.loop.call_later(delay_s, action)

    async def feed(self, chunk: Chunk, emit: Emit) -> None:
        await emit(chunk)

    async def at_eof(self) -> None:
        """Runs when the source closed, before the close is passed on."""


class Latency(Stage):
    """Delays every chunk by latency ± jitter counted from its arrival."""

    async def feed(self, chunk: Chunk, emit: Emit) -> None:
        delay_ms = self.attr("latency")
        jitter = self.attr("jitter")
        if jitter > 0:
            delay_ms += random.randint(-jitter, jitter - 1)
        if delay_ms > 0:
            self.count("chunks_delayed")
        release_at = chunk.arrived + _seconds(delay_ms)
        await self.link.sleep(release_at - self.link.loop.time())
        # Like Toxiproxy, a later latency toxic adds its delay on top of this one.
        chunk.arrived = self.link.loop.time()
        await emit(chunk)


class Bandwidth(Stage):
    """Passes at most ``rate`` KB/s (1 KB = 1000 bytes, as Toxiproxy counts)."""

    def started(self) -> None:
        self._free_at = 0.0

    async def feed(self, chunk: Chunk, emit: Emit) -> None:
        rate = self.attr("rate")
        if rate <= 0:
            await emit(chunk)
            return
        bytes_per_s = rate * 1000.0
        step = max(1, int(bytes_per_s * BANDWIDTH_SLICE_S))
        self.count("bytes_held_back", len(chunk.data))
        view = memoryview(chunk.data)
        for start in range(0, len(view), step):
            part = view[start : start + step]
            now = self.link.loop.time()
            self._free_at = max(self._free_at, now) + len(part) / bytes_per_s
            if not await self.link.sleep(self._free_at - now):
                await emit(Chunk(bytes(view[start:]), chunk.arrived))
                return
            await emit(Chunk(bytes(part), chunk.arrived))


class Slicer(Stage):
    """Splits chunks into pieces of average_size ± size_variation bytes."""

    async def feed(self, chunk: Chunk, emit: Emit) -> None:
        average = self.attr("average_size")
        if average <= 0:
            await emit(chunk)
            return
        variation = min(self.attr("size_variation"), average - 1)
        offsets = _slice_offsets(0, len(chunk.data), average, variation)
        if len(offsets) > 1:
            self.count("chunks_sliced")
        delay_s = min(self.attr("delay") / 1_000_000.0, MAX_DELAY_S)
        for index, (start, end) in enumerate(offsets):
            await emit(Chunk(chunk.data[start:end], chunk.arrived))
            last = index == len(offsets) - 1
            if not last and not await self.link.sleep(delay_s):
                await emit(Chunk(chunk.data[end:], chunk.arrived))
                return


def _slice_offsets(start: int, end: int, average: int, variation: int) -> list[tuple[int, int]]:
    """Halve recursively, as Toxiproxy does, so slice sizes vary evenly."""
    pieces: list[tuple[int, int]] = []
    pending = [(start, end)]
    while pending:
        low, high = pending.pop()
        if (high - low) - average <= variation:
            pieces.append((low, high))
            continue
        jitter = random.randint(-variation, variation) if variation else 0
        mid = low + (high - low) // 2 + jitter
        pending.append((mid, high))
        pending.append((low, mid))
    return pieces


class LimitData(Stage):
    """Closes the connection once ``bytes`` bytes went through this stream."""

    def __init__(self, toxic: Toxic, link: LinkControl) -> None:
        # The count survives updates: it is a property of the connection.
        self.transmitted = 0
        super().__init__(toxic, link)

    async def feed(self, chunk: Chunk, emit: Emit) -> None:
        remaining = self.attr("bytes") - self.transmitted
        if remaining > 0:
            piece = chunk.data[:remaining]
            self.transmitted += len(piece)
            await emit(Chunk(piece, chunk.arrived))
        if self.attr("bytes") - self.transmitted <= 0 and self.link.close_connection():
            self.count("connections_closed")


class Timeout(Stage):
    """Drops all data; closes the connection after ``timeout`` ms without data.

    With timeout 0 the connection stays open and silent until the toxic is
    removed. As in Toxiproxy, every chunk restarts the timer, and removing
    the toxic closes the connections it was stalling (their data is lost).
    """

    def __init__(self, toxic: Toxic, link: LinkControl) -> None:
        self._stalled = False  # counted once per connection
        super().__init__(toxic, link)

    def started(self) -> None:
        if self.applies and self.attr("timeout") > 0:
            self._arm(_seconds(self.attr("timeout")), self._close)

    async def feed(self, chunk: Chunk, emit: Emit) -> None:
        if not self._stalled:
            self._stalled = True
            self.count("connections_stalled")
        self.started()

    def _close(self) -> None:
        if self.link.close_connection():
            self.count("connections_closed")

    def remove(self) -> None:
        super().remove()
        if self.applies:
            self._close()


class ResetPeer(Stage):
    """Drops data and, ``timeout`` ms after the first chunk, resets with RST.

    Toxiproxy waits for data before arming the reset, so an idle connection
    is left alone. Unlike Toxiproxy, removing the toxic disarms a pending
    reset: a fault the scenario removed should not fire afterwards.
    """

    async def feed(self, chunk: Chunk, emit: Emit) -> None:
        if self._timer is None:
            self._arm(_seconds(self.attr("timeout")), self._reset)

    def _reset(self) -> None:
        if self.link.reset_connection():
            self.count("resets_sent")


class SlowClose(Stage):
    """Holds the close of this stream back for ``delay`` ms."""

    async def at_eof(self) -> None:
        if self.attr("delay") > 0:
            self.count("closes_delayed")
        await self.link.sleep(_seconds(self.attr("delay")))


STAGE_TYPES: dict[str, type[Stage]] = {
    "latency": Latency,
    "bandwidth": Bandwidth,
    "slicer": Slicer,
    "limit_data": LimitData,
    "timeout": Timeout,
    "reset_peer": ResetPeer,
    "slow_close": SlowClose,
}


def new_stage(toxic: Toxic, link: LinkControl) -> Stage:
    return STAGE_TYPES[toxic.type](toxic, link)
