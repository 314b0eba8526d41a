"""Hypothesis: concurrent duplicate writes are applied once, and every acknowledged one stays.

Steady state: a healthy stack and a conversation of four users.
Load: the same write from the same user on two connections at once (the same
client_msg_id, ballot, reaction, upload completion, logout, call join) and
writes of different users in parallel, for a few rounds.
Expectations, checked on the recorded history (`histories/INV-00x.jsonl`):
nothing acknowledged is lost, nothing is duplicated or counted twice, a
refused write is absent, a revoked token is refused by every service.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness import ApiClient, EvidenceLog, Platform, check, require_components
from harness.checks import History, workloads, workloads_chat, workloads_services, writes

ROUNDS = 3


@pytest.fixture
def team(stack: Platform, api: ApiClient, gateway_url: str, history: History) -> workloads.Team:
    require_components(stack.names(), "auth", "chat")
    return workloads.new_team(
        api, gateway_url, writes.Recorder(history), workloads_services.token_services(stack)
    )


def _exercise(team: workloads.Team, workload: workloads.Workload, evidence: EvidenceLog) -> None:
    workload.prepare(team)
    workloads.run_rounds(team, [workload], ROUNDS)
    workloads.judge(team, [workload], evidence)


def _invariant(check_id: str, title: str, fix: str) -> Callable[..., object]:
    return check(
        check_id,
        title,
        category="core",
        severity="BLOCKER",
        finding="Acknowledged writes: nothing lost, nothing duplicated or counted twice",
        fix=fix,
        impact="A write the user saw acknowledged is lost or counted twice: messages vanish or "
        "repeat, votes and quotas are wrong.",
    )


@_invariant(
    "INV-001",
    "Messages: one client_msg_id sent concurrently by its user is stored once",
    "Insert on a unique (sender, client_msg_id) and answer the stored message on a conflict.",
)
def test_concurrent_duplicate_messages(team: workloads.Team, evidence: EvidenceLog) -> None:
    _exercise(team, workloads_chat.Messages(), evidence)


@_invariant(
    "INV-002",
    "Polls: concurrent and changed votes leave one ballot per voter, counted once",
    "One ballot row per (poll, voter); a vote replaces it in one transaction.",
)
def test_concurrent_votes(team: workloads.Team, evidence: EvidenceLog) -> None:
    _exercise(team, workloads_chat.Ballots(), evidence)


@_invariant(
    "INV-003",
    "Reactions: the same reaction added concurrently is present once per (user, emoji)",
    "A unique (message, user, emoji) and an insert that ignores the conflict.",
)
def test_concurrent_reactions(team: workloads.Team, evidence: EvidenceLog) -> None:
    _exercise(team, workloads_chat.Reactions(), evidence)


@_invariant(
    "INV-004",
    "Files: concurrent completes list a file once; racing reservations never exceed quota",
    "Reserve under a per-owner lock; compute the quota from the rows, not a counter.",
)
def test_concurrent_uploads_and_quota(
    stack: Platform, team: workloads.Team, evidence: EvidenceLog
) -> None:
    require_components(stack.names(), "storage")
    _exercise(team, workloads_services.Uploads(race_quota=True), evidence)


@_invariant(
    "INV-005",
    "Revocation: a token logged out (twice at once) is refused by every service instance",
    "Write the revocation where every instance reads it before acknowledging the logout.",
)
def test_revoked_tokens_are_refused_everywhere(
    stack: Platform, team: workloads.Team, evidence: EvidenceLog
) -> None:
    require_components(stack.names(), "video", "storage")
    _exercise(team, workloads_services.Revocations(ROUNDS), evidence)


@_invariant(
    "INV-006",
    "Calls: racing joins and leaves leave the state and participants the transitions made",
    "Lock the call row for each transition (read-decide-write in one transaction).",
)
def test_concurrent_call_transitions(
    stack: Platform, team: workloads.Team, evidence: EvidenceLog
) -> None:
    require_components(stack.names(), "video")
    _exercise(team, workloads_services.Calls(), evidence)
