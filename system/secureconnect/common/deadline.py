"""Deadlines that hold even when the work being cut short is slow to unwind.

`asyncio.timeout()` cancels the work it guards and then waits for it to
unwind. Some libraries shield their cleanup from that cancellation:
SQLAlchemy closes a cancelled asyncpg connection gracefully, shielded, for
up to 2 s, so a request whose database hangs would answer 2 s past its
budget. `run_within` runs the work in a task of its own instead; when the
deadline passes (or the caller is cancelled) it cancels that task and
returns at once, and the task finishes unwinding in the background.
Abandoned tasks are kept referenced until they end, their errors logged,
and `drain` lets a shutdown wait for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

log = logging.getLogger("secureconnect.deadline")

_abandoned: set[asyncio.Task[Any]] = set()


class DeadlineExceeded(TimeoutError):
    """The deadline of `run_within` passed (the work's own timeouts stay TimeoutError)."""


class Lift:
    """Set once, it takes the deadline off the `run_within` it was given to (a response
    that started streaming is bounded by its reads' own timeouts, not by the budget).
    Set synchronously: no task waits for it on the request's hot path."""

    def __init__(self) -> None:
        self._set = False
        self._deadline: asyncio.Timeout | None = None

    def is_set(self) -> bool:
        return self._set

    def bind(self, deadline: asyncio.Timeout) -> None:
        self._deadline = deadline

    def set(self) -> None:
        self._set = True
        if self._deadline is not None and not self._deadline.expired():
            with contextlib.suppress(RuntimeError):  # the deadline's block has ended
                self._deadline.reschedule(None)


async def run_within(
    seconds: float,
    work: Coroutine[Any, Any, T],
    lift: Lift | None = None,
    *,
    detach: bool = True,
) -> T:
    """Await `work`, but give up on it after `seconds` without waiting for it to unwind
    (unless `lift` is set first). `detach=False` is for work known to unwind at once
    when cancelled (no database, no shielded cleanup): it is awaited in the caller's
    task, cancelled there at the deadline, which saves a task and a shield per call."""
    task = asyncio.ensure_future(work) if detach else None
    deadline = asyncio.timeout(None if lift is not None and lift.is_set() else seconds)
    if lift is not None:
        lift.bind(deadline)
    try:
        async with deadline:
            return await (work if task is None else asyncio.shield(task))
    except TimeoutError:
        if not deadline.expired():
            raise
        _abandon_detached(task)
        raise DeadlineExceeded(f"gave up after {seconds:g}s") from None
    except asyncio.CancelledError:
        _abandon_detached(task)
        raise


def _abandon_detached(task: asyncio.Task[Any] | None) -> None:
    if task is not None:
        abandon(task)


def abandon(task: asyncio.Task[Any]) -> None:
    """Cancel `task` and let it unwind in the background."""
    if task.done():
        return
    task.cancel()
    _abandoned.add(task)
    task.add_done_callback(_unwound)


def _unwound(task: asyncio.Task[Any]) -> None:
    _abandoned.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.warning("abandoned work failed while unwinding", exc_info=task.exception())


async def drain(timeout_s: float) -> None:
    """Wait (at most `timeout_s`) for abandoned work to finish unwinding."""
    if _abandoned:
        await asyncio.wait(set(_abandoned), timeout=timeout_s)
