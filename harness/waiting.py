"""Await a condition with a deadline instead of sleeping a guessed time."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    retry_if_result,
    stop_after_delay,
    wait_fixed,
)

T = TypeVar("T")


def eventually(
    condition: Callable[[], T], timeout_s: float, interval_s: float = 0.1, what: str = "condition"
) -> T:
    """Call `condition` until it returns something truthy; raise TimeoutError at the deadline.

    Exceptions from `condition` count as "not yet" until the deadline, then propagate.
    """
    retrying = Retrying(
        stop=stop_after_delay(timeout_s),
        wait=wait_fixed(interval_s),
        retry=retry_if_result(lambda value: not value) | retry_if_exception_type(Exception),
        reraise=True,
    )
    try:
        return retrying(condition)
    except RetryError as exc:
        raise TimeoutError(f"{what} not met within {timeout_s}s") from exc
