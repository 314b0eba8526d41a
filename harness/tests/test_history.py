"""The set-full check finds lost, duplicated and unexpected writes in a history."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.checks.history import FAIL, INFO, OK, History, check_set_full
from harness.errors import ConfigError


def _history(adds: dict[str, str], read: list[str]) -> History:
    history = History("messages")
    for process, (value, outcome) in enumerate(adds.items()):
        history.invoke(process, value)
        if outcome != "none":
            history.complete(process, outcome, value)
    history.final_read(read)
    return history


def test_a_clean_history_is_valid() -> None:
    result = check_set_full(_history({"a": OK, "b": OK, "c": FAIL}, ["a", "b"]))
    assert result.valid and result.acknowledged == 2


def test_a_lost_acknowledged_write_is_named() -> None:
    result = check_set_full(_history({"a": OK, "b": OK}, ["a"]))
    assert not result.valid
    assert result.lost == ["b"]
    assert "lost 1" in result.summary()


def test_duplicates_unexpected_and_failed_but_present_are_named() -> None:
    result = check_set_full(_history({"a": OK, "b": FAIL}, ["a", "a", "b", "zzz"]))
    assert result.duplicated == ["a"]
    assert result.unexpected == ["zzz"]
    assert result.failed_but_present == ["b"]


def test_indeterminate_writes_may_go_either_way() -> None:
    result = check_set_full(_history({"a": INFO, "b": INFO, "c": "none"}, ["a"]))
    assert result.valid
    assert (result.indeterminate_present, result.indeterminate_absent) == (1, 2)


def test_a_retry_that_succeeds_makes_the_write_acknowledged() -> None:
    history = History("retries")
    history.invoke(0, "a")
    history.complete(0, INFO, "a")  # the first attempt timed out
    history.invoke(0, "a")
    history.complete(0, OK, "a")  # the retry on the same idempotency key succeeded
    history.final_read([])
    assert check_set_full(history).lost == ["a"]


def test_histories_round_trip_through_json_lines(tmp_path: Path) -> None:
    original = _history({"a": OK, "b": INFO}, ["a"])
    loaded = History.load(original.save(tmp_path / "h.jsonl"))
    assert loaded.ops == original.ops
    assert check_set_full(loaded).acknowledged == 1


def test_a_corrupt_history_or_one_without_a_read_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"index": 0}\nnot json\n')
    with pytest.raises(ConfigError, match="line 1"):
        History.load(bad)
    history = History("no-read")
    history.invoke(0, "a")
    with pytest.raises(ConfigError, match="no final read"):
        check_set_full(history)
