"""Counters and uniqueness rules of acknowledged writes, checked on histories.

The set-full check of `harness.checks.history` covers messages (a set of
idempotency keys). The rules here cover what a set cannot: a ballot that
*replaces* the voter's previous one, a reaction that exists once per (user,
emoji), a file listed once and counted once in the quota, a revocation that
holds on every service, a call whose state follows the acknowledged
transitions. Each checker reads the operations of one history (`f` names
below) and the system's state recorded at the end as a read, and names every
violation with an example:

| rule | writes (`f`) | final read (`f`) |
|---|---|---|
| ballots | vote {poll, voter, options} | polls {poll id: poll_state(..)} |
| reactions | react {message, user, emoji, add} | reactions {message id: {emoji: [users]}} |
| files | reserve {key, size} → {file_id}; complete {file_id, size} | files files_state(..) |
| revocations | revoke {token}; use {token, where} → {status} | (the uses are the reads) |
| calls | initiate {user} → {call}; join, leave, end {call, user} | calls {id: call_state(..)} |

Outcomes are those of `harness.checks.history`: ok (acknowledged), fail (a 4xx: it must
be absent), info (a timeout, reset or 5xx: it may be present or not, never twice).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from harness.checks.history import FAIL, INFO, OK, History, Operation, operations, possible_finals

VOTE, POLLS = "vote", "polls"
REACT, REACTIONS = "react", "reactions"
RESERVE, COMPLETE, FILES = "reserve", "complete", "files"
REVOKE, USE = "revoke", "use"
INITIATE, JOIN, LEAVE, END, CALLS = "initiate", "join", "leave", "end", "calls"
AVAILABLE = "available"
#: Examples kept per kind of violation (the count is always exact).
EXAMPLES_KEPT = 5


@dataclass
class InvariantResult:
    """What one rule found: outcomes of the writes, and violations by kind."""

    rule: str
    acknowledged: int = 0
    failed: int = 0
    indeterminate: int = 0
    problems: dict[str, list[str]] = field(default_factory=dict)

    def violate(self, kind: str, example: str) -> None:
        self.problems.setdefault(kind, []).append(example)

    def count(self, writes: Iterable[Operation]) -> None:
        for write in writes:
            self.acknowledged += write.outcome == OK
            self.failed += write.outcome == FAIL
            self.indeterminate += write.outcome == INFO

    @property
    def valid(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        found = "; ".join(
            f"{kind} {len(examples)}: {examples[:EXAMPLES_KEPT]}"
            for kind, examples in sorted(self.problems.items())
        )
        return (
            f"{self.rule}: {self.acknowledged} acknowledged, {self.failed} failed, "
            f"{self.indeterminate} indeterminate; {found or 'no violation'}"
        )


def _by(writes: Iterable[Operation], key: Callable[[Operation], Any]) -> dict[Any, list[Operation]]:
    grouped: dict[Any, list[Operation]] = defaultdict(list)
    for write in writes:
        grouped[key(write)].append(write)
    return grouped


def _register_violation(writes: list[Operation], got: Any, finals: list[Any]) -> str:
    """Why a register's final state is impossible: lost, unexpected or failed but present."""
    if not writes:
        return "unexpected"
    if all(w.outcome == FAIL for w in writes):
        return "failed but present"
    return "lost" if got in (None, False) else "stale or wrong"


# -- ballots -----------------------------------------------------------------


def poll_state(body: dict[str, Any]) -> dict[str, Any]:
    """The read of one poll from its API answer (GET /polls/{id}); voters must be shown."""
    return {
        "votes": {o["option_id"]: o["votes"] for o in body["options"]},
        "voters": {o["option_id"]: list(o["voters"] or []) for o in body["options"]},
        "total_voters": body["total_voters"],
    }


def check_ballots(history: History) -> InvariantResult:
    """Each poll's tally equals the last ballot each voter may have cast, counted once."""
    result = InvariantResult("ballots")
    votes = operations(history, VOTE)
    result.count(votes)
    by_poll = _by(votes, lambda v: v.value["poll"])
    for poll_id, read in sorted(history.last_read(POLLS).items()):
        ballots = _ballots_read(result, poll_id, read)
        by_voter = _by(by_poll.get(poll_id, []), lambda v: v.value["voter"])
        for voter in sorted(set(ballots) | set(by_voter)):
            mine = by_voter.get(voter, [])
            finals = possible_finals(mine, None, lambda v: frozenset(v.value["options"]))
            got = ballots.get(voter)
            if got not in finals:
                shown = sorted(got) if got else "no ballot"
                possible = [sorted(f) if f else "no ballot" for f in finals]
                result.violate(
                    _register_violation(mine, got, finals),
                    f"poll {poll_id} voter {voter}: read {shown}, possible {possible}",
                )
    return result


def _ballots_read(result: InvariantResult, poll_id: str, read: dict[str, Any]) -> dict[str, Any]:
    """voter → frozenset of options, from the voters of each option; counts checked on the way."""
    ballots: dict[str, set[str]] = defaultdict(set)
    for option, voters in sorted(read["voters"].items()):
        if len(voters) != len(set(voters)):
            result.violate("double-counted", f"poll {poll_id} option {option} lists a voter twice")
        if read["votes"][option] != len(set(voters)):
            result.violate(
                "double-counted",
                f"poll {poll_id} option {option}: {read['votes'][option]} votes "
                f"from {len(set(voters))} voters",
            )
        for voter in voters:
            ballots[voter].add(option)
    if read["total_voters"] != len(ballots):
        result.violate(
            "double-counted",
            f"poll {poll_id}: total_voters {read['total_voters']} for {len(ballots)} voters",
        )
    return {voter: frozenset(options) for voter, options in ballots.items()}


# -- reactions ---------------------------------------------------------------


def check_reactions(history: History) -> InvariantResult:
    """Each (message, user, emoji) is present once, as the last add or remove left it."""
    result = InvariantResult("reactions")
    writes = operations(history, REACT)
    result.count(writes)
    keyed = _by(writes, lambda w: (w.value["message"], w.value["user"], w.value["emoji"]))
    present = Counter(
        (message, user, emoji)
        for message, emojis in history.last_read(REACTIONS).items()
        for emoji, users in emojis.items()
        for user in users
    )
    for key, times in sorted(present.items()):
        if times > 1:
            result.violate("duplicated", f"{key} listed {times} times")
    for key in sorted(set(present) | set(keyed)):
        mine = keyed.get(key, [])
        finals = possible_finals(mine, False, lambda w: bool(w.value["add"]))
        got = key in present
        if got not in finals:
            result.violate(
                _register_violation(mine, got, finals), f"{key}: present {got}, possible {finals}"
            )
    return result


# -- files and quota -----------------------------------------------------------


def files_state(listing: dict[str, Any], quota: dict[str, Any]) -> dict[str, Any]:
    """The read of a user's files from GET /files and GET /files/quota."""
    return {
        "files": [
            {"file_id": f["file_id"], "size": f["size"], "status": f["status"]}
            for f in listing["files"]
        ],
        "used_bytes": quota["used_bytes"],
        "reserved_bytes": quota.get("reserved_bytes", 0),
        "limit_bytes": quota["limit_bytes"],
    }


def check_files(history: History) -> InvariantResult:
    """Each acknowledged file listed once, available with its size; quota = their sum."""
    result = InvariantResult("files")
    reserves, completes = operations(history, RESERVE), operations(history, COMPLETE)
    result.count([*reserves, *completes])
    read = history.last_read(FILES)
    listed = Counter(f["file_id"] for f in read["files"])
    for file_id, times in sorted(listed.items()):
        if times > 1:
            result.violate("duplicated", f"file {file_id} listed {times} times")
    by_id = {f["file_id"]: f for f in read["files"]}
    _check_reservations(result, reserves, by_id)
    for file_id, mine in sorted(_by(completes, lambda c: c.value["file_id"]).items()):
        found = by_id.get(file_id)
        available = found is not None and found["status"] == AVAILABLE
        if any(c.outcome == OK for c in mine):
            size = mine[0].value["size"]
            if not available or found["size"] != size:
                result.violate("lost", f"file {file_id} completed ({size} bytes), read {found}")
        elif available and all(c.outcome == FAIL for c in mine):
            result.violate("failed but present", f"file {file_id}: every complete failed")
    _check_quota(result, read)
    return result


def _check_reservations(
    result: InvariantResult, reserves: list[Operation], by_id: dict[str, Any]
) -> None:
    granted = {r.result["file_id"] for r in reserves if r.outcome == OK}
    for file_id in sorted(granted - by_id.keys()):
        result.violate("lost", f"reservation {file_id} acknowledged, not listed")
    strangers = sorted(by_id.keys() - granted)
    maybe = sum(r.outcome == INFO for r in reserves)
    if len(strangers) > maybe:
        result.violate(
            "unexpected", f"{len(strangers)} files nobody reserved ({maybe} indeterminate)"
        )


def _check_quota(result: InvariantResult, read: dict[str, Any]) -> None:
    available = sum(f["size"] for f in read["files"] if f["status"] == AVAILABLE)
    if read["used_bytes"] != available:
        result.violate(
            "quota miscounted", f"used_bytes {read['used_bytes']}, available files sum {available}"
        )
    if read["used_bytes"] + read["reserved_bytes"] > read["limit_bytes"]:
        result.violate(
            "over quota",
            f"used {read['used_bytes']} + reserved {read['reserved_bytes']} "
            f"> limit {read['limit_bytes']}",
        )


# -- revocations -----------------------------------------------------------------


def check_revocations(history: History) -> InvariantResult:
    """A token whose revocation was acknowledged is refused (401) by every service after."""
    result = InvariantResult("revocations")
    revokes = operations(history, REVOKE)
    result.count(revokes)
    by_token = _by(revokes, lambda r: r.value["token"])
    for use in operations(history, USE):
        token, where, status = use.value["token"], use.value["where"], use.result["status"]
        mine = by_token.get(token, [])
        if any(r.outcome == OK and r.precedes(use) for r in mine):
            if 200 <= status < 300:
                result.violate("revoked token accepted", f"{token} at {where}: {status}")
        elif status == 401 and all(r.outcome == FAIL for r in mine):
            result.violate("live token rejected", f"{token} at {where}: 401")
    return result


# -- calls ---------------------------------------------------------------------


def call_state(body: dict[str, Any]) -> dict[str, Any]:
    """The read of one call from GET /calls/{id}."""
    return {
        "state": body["state"],
        "initiator": body["initiator_id"],
        "participants": [[p["user_id"], p["status"]] for p in body["participants"]],
    }


def check_calls(history: History) -> InvariantResult:
    """Each call's state and participants follow its acknowledged transitions."""
    result = InvariantResult("calls")
    initiated = operations(history, INITIATE)
    transitions = operations(history, JOIN, LEAVE, END)
    result.count([*initiated, *transitions])
    read = history.last_read(CALLS)
    for call in sorted(i.result["call"] for i in initiated if i.outcome == OK):
        if call not in read:
            result.violate("lost", f"call {call} acknowledged, not readable")
    by_call = _by(transitions, lambda t: t.value["call"])
    for call_id, call in sorted(read.items()):
        _check_call(result, call_id, call, by_call.get(call_id, []))
    return result


def _check_call(
    result: InvariantResult, call_id: str, call: dict[str, Any], ops: list[Operation]
) -> None:
    users = Counter(user for user, _ in call["participants"])
    for user, times in sorted(users.items()):
        if times > 1:
            result.violate("duplicated", f"call {call_id}: participant {user} listed {times} times")
    ended = call["state"] == "ended"
    if not ended and any(op.f == END and op.outcome == OK for op in ops):
        result.violate("lost", f"call {call_id}: end acknowledged, state {call['state']}")
    joined = [user for user, status in call["participants"] if status == "joined"]
    if call["state"] == "active" and not joined:
        result.violate("state", f"call {call_id}: active with nobody joined")
    for user, status in call["participants"]:
        mine = [op for op in ops if op.value["user"] == user and op.f != END]
        if ended:
            allowed = _statuses_after_end(mine, user == call["initiator"])
        else:
            initial = "joined" if user == call["initiator"] else "invited"
            allowed = possible_finals(
                mine, initial, lambda op: "joined" if op.f == JOIN else "left"
            )
        if status not in allowed:
            result.violate(
                "lost" if allowed == ["joined"] else "stale or wrong",
                f"call {call_id} ({call['state']}): {user} is {status}, possible {allowed}",
            )


def _statuses_after_end(mine: list[Operation], initiator: bool) -> list[str]:
    """In an ended call nobody is joined; `left` needs a join or a leave that may have happened."""
    tried = [op for op in mine if op.outcome != FAIL]
    allowed = ["left"] if initiator or tried else []
    if not any(op.f == JOIN and op.outcome == OK for op in mine) and not initiator:
        allowed.append("invited")
    return allowed
