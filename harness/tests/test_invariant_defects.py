"""The invariant checkers fail on the histories the catalogue's defects produce.

Each history below is what the INV check records against a system with the
named defect (harness/selftest/defects/), cut down to the operations that
matter; the same checker passes the healthy variant.
"""

from __future__ import annotations

from typing import Any

import httpx

from harness.checks.history import INFO, OK, History, check_set_full
from harness.checks.invariants import (
    COMPLETE,
    FILES,
    POLLS,
    REACT,
    REACTIONS,
    RESERVE,
    VOTE,
    check_ballots,
    check_files,
    check_reactions,
    files_state,
)
from harness.checks.library.writes import Recorder


def _write(history: History, process: int, f: str, value: Any, outcome: str, result: Any = None):
    history.invoke(process, value, f)
    history.complete(process, outcome, value if result is None else result, f)


def test_ack_without_commit_loses_acknowledged_messages() -> None:
    """DEF-CHAT-ACK-WITHOUT-COMMIT: 201 during the PostgreSQL cut, nothing stored."""
    history = History("INV-008")
    _write(history, 0, "add", "inv-u0-r0", OK)  # acknowledged while the database was cut
    _write(history, 1, "add", "inv-u1-r0", INFO)  # a healthy system says 503 instead
    _write(history, 0, "add", "inv-u0-r1", OK)  # after the cut
    history.final_read(["inv-u0-r1"])
    assert check_set_full(history).lost == ["inv-u0-r0"]


def _changed_votes(read_voters: dict[str, list[str]]) -> History:
    history = History("INV-002")
    # one voter, two ballots at once on two connections, then a changed vote
    history.invoke(0, {"poll": "p", "voter": "u1", "options": ["a"]}, VOTE)
    history.invoke(1, {"poll": "p", "voter": "u1", "options": ["b"]}, VOTE)
    history.complete(0, OK, {}, VOTE)
    history.complete(1, OK, {}, VOTE)
    _write(history, 0, VOTE, {"poll": "p", "voter": "u1", "options": ["c"]}, OK)
    votes = {o: len(v) for o, v in read_voters.items()}
    history.final_read({"p": {"votes": votes, "voters": read_voters, "total_voters": 1}}, POLLS)
    return history


def test_a_changed_vote_that_adds_options_fails_the_ballot_check() -> None:
    """DEF-POLL-CHANGED-VOTE-ADDS: the voter is counted under every option chosen so far."""
    assert check_ballots(_changed_votes({"a": [], "b": [], "c": ["u1"]})).valid
    defective = check_ballots(_changed_votes({"a": ["u1"], "b": ["u1"], "c": ["u1"]}))
    assert list(defective.problems) == ["stale or wrong"]


def test_a_client_msg_id_stored_twice_is_duplicated() -> None:
    """DEF-CHAT-IDEMPOTENCY-KEY-NOT-UNIQUE: the same key sent on two connections at once."""
    history = History("INV-001")
    history.invoke(0, "inv-u0-r0", "add")
    history.invoke(1, "inv-u0-r0", "add")
    history.complete(0, OK, "inv-u0-r0", "add")
    history.complete(1, OK, "inv-u0-r0", "add")
    history.final_read(["inv-u0-r0", "inv-u0-r0"])
    result = check_set_full(history)
    assert result.duplicated == ["inv-u0-r0"] and not result.valid


def test_a_reaction_listed_once_per_member_is_duplicated() -> None:
    """DEF-CHAT-REACTION-COUNTED-PER-MEMBER: four members, so every reaction shows four times."""
    history = History("INV-003")
    value = {"message": "m", "user": "u1", "emoji": "👍", "add": True}
    _write(history, 0, REACT, value, OK)
    history.final_read({"m": {"👍": ["u1"] * 4}}, REACTIONS)
    result = check_reactions(history)
    assert list(result.problems) == ["duplicated"]


def test_reservations_that_overdraw_the_quota_are_named() -> None:
    """DEF-STORAGE-QUOTA-UNLOCKED: racing reservations all granted past the limit."""
    history = History("INV-004")
    limit, size = 100, 9  # eleven fit
    listing = []
    for racer in range(13):
        file_id = f"f{racer}"
        _write(history, racer, RESERVE, {"key": file_id, "size": size}, OK, {"file_id": file_id})
        listing.append({"file_id": file_id, "size": size, "status": "pending"})
    _write(history, 0, COMPLETE, {"file_id": "f0", "size": size}, OK)
    listing[0]["status"] = "available"
    quota = {"used_bytes": size, "reserved_bytes": 12 * size, "limit_bytes": limit}
    history.final_read(files_state({"files": listing}, quota), FILES)
    assert list(check_files(history).problems) == ["over quota"]


def test_the_recorder_classifies_answers_like_a_client() -> None:
    """2xx acknowledged, 4xx failed, 5xx and no answer unknown and retried."""
    answers = iter([503, 201])
    recorder = Recorder(History("r"))
    request = httpx.Request("POST", "http://x")
    outcome, _ = recorder.write(
        0, "add", "k", lambda: httpx.Response(next(answers), request=request), attempts=3
    )
    assert outcome == OK and recorder.trouble == 1
    outcome, _ = recorder.write(
        1, "add", "j", lambda: httpx.Response(409, request=request), attempts=3
    )
    assert outcome == "fail" and recorder.trouble == 2
    types = [op.type for op in recorder.history.ops]
    assert types == ["invoke", "info", "invoke", "ok", "invoke", "fail"]
