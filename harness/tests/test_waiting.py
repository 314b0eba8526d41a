"""`eventually` waits through falsy results and errors until its deadline."""

from __future__ import annotations

import pytest

from harness.waiting import eventually


def test_errors_count_as_not_yet_until_the_condition_holds() -> None:
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("not up yet")
        return "up"

    assert eventually(flaky, timeout_s=2, interval_s=0.01) == "up"


def test_the_last_error_propagates_at_the_deadline() -> None:
    def down() -> bool:
        raise ConnectionError("still down")

    with pytest.raises(ConnectionError, match="still down"):
        eventually(down, timeout_s=0.1, interval_s=0.01)


def test_a_condition_that_never_holds_times_out_naming_it() -> None:
    with pytest.raises(TimeoutError, match="the sky turning green"):
        eventually(lambda: False, timeout_s=0.1, interval_s=0.01, what="the sky turning green")
