"""run_within: the deadline holds even when the work is slow to unwind."""

from __future__ import annotations

import asyncio

import pytest
from secureconnect.common.deadline import DeadlineExceeded, drain, run_within

UNWIND_S = 0.5


async def _slow_to_unwind(unwound: list[str]) -> None:
    try:
        await asyncio.Event().wait()
    finally:
        await asyncio.shield(asyncio.sleep(UNWIND_S))
        unwound.append("done")


async def test_gives_up_at_the_deadline_and_unwinds_in_the_background():
    unwound: list[str] = []
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(DeadlineExceeded):
        await run_within(0.05, _slow_to_unwind(unwound))
    assert loop.time() - started < UNWIND_S / 2
    assert unwound == []
    await drain(UNWIND_S * 4)
    assert unwound == ["done"]


async def test_the_works_own_timeout_and_result_pass_through():
    async def own_timeout() -> None:
        raise TimeoutError("the work's own")

    async def answer() -> int:
        return 42

    with pytest.raises(TimeoutError) as raised:
        await run_within(1.0, own_timeout())
    assert not isinstance(raised.value, DeadlineExceeded)
    assert await run_within(1.0, answer()) == 42


async def test_a_cancelled_caller_abandons_the_work():
    unwound: list[str] = []
    caller = asyncio.ensure_future(run_within(10.0, _slow_to_unwind(unwound)))
    await asyncio.sleep(0.05)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    await drain(UNWIND_S * 4)
    assert unwound == ["done"]


async def test_undetached_work_is_cancelled_in_place_at_the_deadline():
    cancelled: list[str] = []

    async def prompt() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append("in place")
            raise

    async def answer() -> int:
        return 42

    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(DeadlineExceeded):
        await run_within(0.05, prompt(), detach=False)
    assert loop.time() - started < UNWIND_S / 2
    assert cancelled == ["in place"]
    assert await run_within(1.0, answer(), detach=False) == 42


async def test_undetached_work_is_waited_for_when_slow_to_unwind():
    # The price of detach=False: the caller waits for the unwinding.
    unwound: list[str] = []
    with pytest.raises(DeadlineExceeded):
        await run_within(0.05, _slow_to_unwind(unwound), detach=False)
    assert unwound == ["done"]
