"""Concurrent calls sent as one: a group commit on the event loop.

Callers `submit` their items and await their results; one sender task takes
every submission queued since its last call and makes a single call for all
of them, then hands each caller its share of the results, in order. At most
one call is in flight: what arrives meanwhile goes into the next. A caller
alone waits a loop turn more than a direct call would; concurrent callers
share one round trip (the gateway's rate limits: one Redis script call per
batch of requests instead of one per request, each counter still exact).

A caller cancelled before its batch went out is left out of it; one cancelled
later leaves its items counted, as a cancelled direct call could. The sender
outlives a failed call: that batch's callers get the exception.

Written here rather than taken from a batching package: batching by size or
by a timer adds latency to every call, while here a batch is whatever queued
while the previous call was out, so nothing waits on a clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from secureconnect.common.tasks import stop

I = TypeVar("I")  # noqa: E741 (an item)
R = TypeVar("R")

Send = Callable[[list[I]], Awaitable[list[R]]]


class Coalescer(Generic[I, R]):
    def __init__(self, send: Send[I, R], name: str) -> None:
        self._send = send
        self.name = name
        self._queue: list[tuple[list[I], asyncio.Future[list[R]]]] = []
        self._wake: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        #: Calls made (batches sent), for tests and benchmarks.
        self.calls = 0

    async def submit(self, items: list[I]) -> list[R]:
        """The results of `items`, in order, from the call of the batch they went into."""
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._queue, self._wake = [], None  # a task of a closed loop serves no one here
            self._task = loop.create_task(self._send_forever(), name=self.name)
        future: asyncio.Future[list[R]] = loop.create_future()
        self._queue.append((items, future))
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)
        return await future

    async def close(self) -> None:
        await stop(self._task)
        self._task = None

    async def _send_forever(self) -> None:
        while True:
            if not self._queue:
                self._wake = asyncio.get_running_loop().create_future()
                await self._wake
            batch, self._queue = self._queue, []
            await self._call([(items, f) for items, f in batch if not f.done()])

    async def _call(self, batch: list[tuple[list[I], asyncio.Future[list[R]]]]) -> None:
        if not batch:
            return
        self.calls += 1
        try:
            results = await self._send([item for items, _ in batch for item in items])
        except Exception as exc:  # noqa: BLE001 (the callers' to handle; the sender goes on)
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        start = 0
        for items, future in batch:
            if not future.done():
                future.set_result(results[start : start + len(items)])
            start += len(items)
