"""Invariant checkers pass valid histories and name lost, duplicated, double-counted writes."""

from __future__ import annotations

from typing import Any

import pytest

from harness.checks.history import FAIL, INFO, OK, History, operations, possible_finals
from harness.checks.invariants import (
    CALLS,
    COMPLETE,
    END,
    FILES,
    INITIATE,
    JOIN,
    LEAVE,
    POLLS,
    REACT,
    REACTIONS,
    RESERVE,
    REVOKE,
    USE,
    VOTE,
    call_state,
    check_ballots,
    check_calls,
    check_files,
    check_reactions,
    check_revocations,
    files_state,
    poll_state,
)
from harness.errors import ConfigError


def _write(
    history: History, process: int, f: str, value: Any, outcome: str, result: Any = None
) -> None:
    history.invoke(process, value, f)
    history.complete(process, outcome, result if result is not None else value, f)


# -- the register model ----------------------------------------------------------


def test_operations_pair_each_invocation_with_its_completion() -> None:
    history = History("h")
    history.invoke(0, "a", "w")
    history.invoke(1, "b", "w")
    history.complete(1, OK, "b", "w")
    history.complete(0, INFO, "a", "w")
    history.invoke(2, "c", "w")  # never completes
    pairs = operations(history, "w")
    assert [(o.value, o.outcome, o.invoked, o.completed) for o in pairs] == [
        ("a", INFO, 0, 3),
        ("b", OK, 1, 2),
        ("c", INFO, 4, None),
    ]


def test_an_acknowledged_write_after_another_completed_supersedes_it() -> None:
    history = History("h")
    _write(history, 0, "w", 1, OK)
    _write(history, 0, "w", 2, OK)
    _write(history, 1, "w", 3, FAIL)
    assert possible_finals(operations(history, "w"), 0, lambda o: o.value) == [2]


def test_overlapping_or_indeterminate_writes_may_each_be_last() -> None:
    history = History("h")
    history.invoke(0, 1, "w")
    history.invoke(1, 2, "w")
    history.complete(0, OK, 1, "w")
    history.complete(1, OK, 2, "w")
    _write(history, 2, "w", 3, INFO)
    assert possible_finals(operations(history, "w"), 0, lambda o: o.value) == [1, 2, 3]
    unacknowledged = History("u")
    _write(unacknowledged, 0, "w", 5, INFO)
    assert possible_finals(operations(unacknowledged, "w"), 0, lambda o: o.value) == [0, 5]


# -- ballots --------------------------------------------------------------------


def _poll(votes: dict[str, int], voters: dict[str, list[str]], total: int) -> dict[str, Any]:
    options = [{"option_id": o, "votes": votes[o], "voters": voters.get(o, [])} for o in votes]
    return poll_state({"options": options, "total_voters": total})


def _ballots(read: dict[str, Any], changed_vote_ok: bool = True) -> History:
    history = History("ballots")
    _write(history, 0, VOTE, {"poll": "p", "voter": "u1", "options": ["a"]}, OK)
    _write(history, 0, VOTE, {"poll": "p", "voter": "u1", "options": ["b"]}, OK)
    _write(history, 1, VOTE, {"poll": "p", "voter": "u2", "options": ["a"]}, OK)
    _write(history, 2, VOTE, {"poll": "p", "voter": "u3", "options": ["b"]}, FAIL)
    history.final_read({"p": read}, POLLS)
    return history


def test_a_tally_of_each_voters_last_ballot_is_valid() -> None:
    read = _poll({"a": 1, "b": 1}, {"a": ["u2"], "b": ["u1"]}, 2)
    result = check_ballots(_ballots(read))
    assert result.valid, result.summary()
    assert (result.acknowledged, result.failed) == (3, 1)


def test_a_changed_vote_that_adds_a_ballot_is_double_counted() -> None:
    read = _poll({"a": 2, "b": 1}, {"a": ["u1", "u2"], "b": ["u1"]}, 3)
    result = check_ballots(_ballots(read))
    assert "double-counted" in result.problems  # total_voters 3 for 2 voters
    assert "stale or wrong" in result.problems  # u1 read {a, b}: never cast
    assert not result.valid


def test_a_count_above_its_voters_is_double_counted() -> None:
    read = _poll({"a": 2, "b": 1}, {"a": ["u2"], "b": ["u1"]}, 2)
    assert "double-counted" in check_ballots(_ballots(read)).problems


def test_a_lost_ballot_and_a_failed_one_that_counts_are_named() -> None:
    read = _poll({"a": 0, "b": 2}, {"b": ["u1", "u3"]}, 2)
    result = check_ballots(_ballots(read))
    assert result.problems["lost"] == ["poll p voter u2: read no ballot, possible [['a']]"]
    assert len(result.problems["failed but present"]) == 1


def test_a_replaced_ballot_read_back_is_stale() -> None:
    read = _poll({"a": 2, "b": 0}, {"a": ["u1", "u2"]}, 2)
    assert list(check_ballots(_ballots(read)).problems) == ["stale or wrong"]


# -- reactions ------------------------------------------------------------------


def _reactions(read: dict[str, Any]) -> History:
    history = History("reactions")
    thumbs = {"message": "m", "user": "u1", "emoji": "+1", "add": True}
    # the same user adds the same reaction on two connections at once
    history.invoke(0, thumbs, REACT)
    history.invoke(1, thumbs, REACT)
    history.complete(0, OK, thumbs, REACT)
    history.complete(1, OK, thumbs, REACT)
    _write(history, 2, REACT, {"message": "m", "user": "u2", "emoji": "+1", "add": True}, OK)
    _write(history, 2, REACT, {"message": "m", "user": "u2", "emoji": "+1", "add": False}, OK)
    _write(history, 3, REACT, {"message": "m", "user": "u3", "emoji": "x", "add": True}, FAIL)
    history.final_read({"m": read}, REACTIONS)
    return history


def test_each_reaction_present_once_is_valid() -> None:
    result = check_reactions(_reactions({"+1": ["u1"]}))
    assert result.valid, result.summary()


def test_a_reaction_counted_twice_is_duplicated() -> None:
    result = check_reactions(_reactions({"+1": ["u1", "u1"]}))
    assert list(result.problems) == ["duplicated"]


def test_lost_removed_failed_and_unexpected_reactions_are_named() -> None:
    result = check_reactions(_reactions({"+1": ["u2"], "x": ["u3"], "?": ["u9"]}))
    assert set(result.problems) == {"lost", "stale or wrong", "failed but present", "unexpected"}


# -- files ----------------------------------------------------------------------


def _files(listed: list[tuple[str, int, str]], used: int, reserved: int = 0) -> History:
    history = History("files")
    _write(history, 0, RESERVE, {"key": "a", "size": 10}, OK, {"file_id": "f1"})
    _write(history, 1, RESERVE, {"key": "b", "size": 20}, OK, {"file_id": "f2"})
    _write(history, 2, RESERVE, {"key": "c", "size": 30}, FAIL, {"status": 413})
    # the same upload completed on two connections at once
    history.invoke(0, {"file_id": "f1", "size": 10}, COMPLETE)
    history.invoke(3, {"file_id": "f1", "size": 10}, COMPLETE)
    history.complete(0, OK, {"file_id": "f1", "size": 10}, COMPLETE)
    history.complete(3, OK, {"file_id": "f1", "size": 10}, COMPLETE)
    _write(history, 1, COMPLETE, {"file_id": "f2", "size": 20}, FAIL)  # PUT never done
    listing = {"files": [{"file_id": i, "size": s, "status": st} for i, s, st in listed]}
    quota = {"used_bytes": used, "reserved_bytes": reserved, "limit_bytes": 40}
    history.final_read(files_state(listing, quota), FILES)
    return history


def test_files_listed_once_with_the_quota_their_sum_are_valid() -> None:
    result = check_files(_files([("f1", 10, "available"), ("f2", 20, "pending")], 10, 20))
    assert result.valid, result.summary()


def test_a_file_listed_twice_or_counted_twice_in_the_quota_is_named() -> None:
    twice = check_files(_files([("f1", 10, "available"), ("f1", 10, "available")], 20))
    assert "duplicated" in twice.problems
    counted_twice = check_files(_files([("f1", 10, "available"), ("f2", 20, "pending")], 20, 20))
    assert set(counted_twice.problems) == {"quota miscounted"}


def test_a_lost_upload_a_failed_one_present_and_an_overdrawn_quota_are_named() -> None:
    result = check_files(_files([("f2", 20, "available"), ("f3", 30, "pending")], 20, 30))
    assert result.problems["lost"][0].startswith("reservation f1")
    assert {"failed but present", "unexpected", "over quota"} <= set(result.problems)


# -- revocations ----------------------------------------------------------------


def _revocations(status_after: int, control_status: int = 200) -> History:
    history = History("revocations")
    _write(history, 0, USE, {"token": "t1", "where": "chat"}, OK, {"status": 200})
    _write(history, 0, REVOKE, {"token": "t1"}, OK)
    for where in ("auth", "chat", "video", "storage"):
        _write(history, 1, USE, {"token": "t1", "where": where}, OK, {"status": status_after})
    _write(history, 2, USE, {"token": "t2", "where": "chat"}, OK, {"status": control_status})
    _write(history, 3, REVOKE, {"token": "t3"}, INFO)
    _write(history, 3, USE, {"token": "t3", "where": "chat"}, OK, {"status": 200})
    return history


def test_a_revoked_token_refused_everywhere_is_valid() -> None:
    result = check_revocations(_revocations(401))
    assert result.valid, result.summary()


def test_a_revoked_token_accepted_anywhere_is_named() -> None:
    result = check_revocations(_revocations(200))
    assert len(result.problems["revoked token accepted"]) == 4


def test_a_token_never_revoked_must_not_be_refused() -> None:
    assert list(check_revocations(_revocations(401, 401)).problems) == ["live token rejected"]


# -- calls ----------------------------------------------------------------------


def _call(state: str, participants: list[tuple[str, str]]) -> dict[str, Any]:
    body = {
        "state": state,
        "initiator_id": "u1",
        "participants": [{"user_id": u, "status": s} for u, s in participants],
    }
    return call_state(body)


def _calls(read: dict[str, Any], end: str | None = None) -> History:
    history = History("calls")
    _write(history, 0, INITIATE, {"user": "u1"}, OK, {"call": "c"})
    # u2 joins twice at once; u3 joins and leaves
    history.invoke(1, {"call": "c", "user": "u2"}, JOIN)
    history.invoke(2, {"call": "c", "user": "u2"}, JOIN)
    history.complete(1, OK, {"call": "c", "user": "u2"}, JOIN)
    history.complete(2, OK, {"call": "c", "user": "u2"}, JOIN)
    _write(history, 3, JOIN, {"call": "c", "user": "u3"}, OK)
    _write(history, 3, LEAVE, {"call": "c", "user": "u3"}, OK)
    if end is not None:
        _write(history, 4, END, {"call": "c", "user": "u1"}, end)
    history.final_read({"c": read}, CALLS)
    return history


def test_a_call_that_follows_its_transitions_is_valid() -> None:
    active = _call("active", [("u1", "joined"), ("u2", "joined"), ("u3", "left")])
    assert check_calls(_calls(active)).valid
    ended = _call("ended", [("u1", "left"), ("u2", "left"), ("u3", "left")])
    assert check_calls(_calls(ended, end=OK)).valid
    assert check_calls(_calls(ended, end=INFO)).valid


def test_a_participant_listed_twice_is_duplicated() -> None:
    read = _call("active", [("u1", "joined"), ("u2", "joined"), ("u2", "joined"), ("u3", "left")])
    assert list(check_calls(_calls(read)).problems) == ["duplicated"]


def test_a_lost_join_a_lost_end_and_a_missing_call_are_named() -> None:
    lost_join = _call("active", [("u1", "joined"), ("u2", "invited"), ("u3", "left")])
    assert list(check_calls(_calls(lost_join)).problems) == ["lost"]
    still_active = _call("active", [("u1", "joined"), ("u2", "joined"), ("u3", "left")])
    assert "lost" in check_calls(_calls(still_active, end=OK)).problems
    joined_after_end = _call("ended", [("u1", "left"), ("u2", "joined"), ("u3", "left")])
    assert check_calls(_calls(joined_after_end, end=OK)).problems
    assert "lost" in check_calls(_missing_call()).problems


def _missing_call() -> History:
    history = History("calls")
    _write(history, 0, INITIATE, {"user": "u1"}, OK, {"call": "c"})
    history.final_read({}, CALLS)
    return history


def test_a_checker_without_its_final_read_is_a_clear_error() -> None:
    history = History("no-read")
    _write(history, 0, VOTE, {"poll": "p", "voter": "u", "options": ["a"]}, OK)
    with pytest.raises(ConfigError, match="no final read 'polls'"):
        check_ballots(history)
