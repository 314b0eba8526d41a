"""Polls and typing indicators: the features the seed found missing."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

from harness import (
    ApiClient,
    Chat,
    EventListener,
    EvidenceLog,
    Platform,
    Session,
    check,
    require_components,
)
from harness.checks import flows_chat

VOTERS = 20
#: How long the "typing" event may take to reach the other participant. Below the
#: product's typing timeout (5 s): past it the sweep broadcasts "stopped typing",
#: an event of the same type that a lost "started typing" must not pass for.
TYPING_EVENT_DEADLINE_S = 3.0


def _vote_twice(gateway: str, voter: Session, poll_id: str, options: list[str]) -> str:
    """Vote, maybe change the vote; return the option the voter ends on."""
    with ApiClient(gateway) as api:
        chat = Chat(api, voter)
        first = random.choice(options)
        assert chat.vote(poll_id, [first]).status_code == 200
        if random.random() < 0.5:
            final = random.choice(options)
            assert chat.vote(poll_id, [final]).status_code == 200
            return final
        return first


@check(
    "FEAT-002",
    "Polls: concurrent voters and changed votes are counted exactly; closed is 409",
    category="features",
    severity="BLOCKER",
    finding="BLOCKER-2: vote/poll feature not implemented",
    fix="Polls with one ballot per user per poll enforced by the database.",
    impact="Polls lose or double ballots, or accept votes after closing: results cannot be "
    "trusted.",
)
def test_polls_count_exactly_under_concurrency(
    stack: Platform, api: ApiClient, gateway_url: str, evidence: EvidenceLog
) -> None:
    require_components(stack.names(), "chat")
    creator = api.new_session()
    voters = [api.new_session() for _ in range(VOTERS)]
    chat = Chat(api, creator)
    conversation = chat.conversation(*voters)
    poll = chat.create_poll(conversation, ["red", "green", "blue"])
    options = [o["option_id"] for o in poll["options"]]
    with ThreadPoolExecutor(max_workers=10) as pool:
        finals = list(
            pool.map(lambda v: _vote_twice(gateway_url, v, poll["poll_id"], options), voters)
        )
    tally = chat.poll(poll["poll_id"]).json()
    counted = {o["option_id"]: o["votes"] for o in tally["options"]}
    expected = {o: finals.count(o) for o in options}
    evidence.note("expected / counted", f"{expected} / {counted}")
    assert counted == expected and tally["total_voters"] == VOTERS, "poll counts are wrong"
    assert Chat(api, voters[0]).close_poll(poll["poll_id"]).status_code == 403
    assert chat.close_poll(poll["poll_id"]).status_code == 200
    late = Chat(api, voters[0]).vote(poll["poll_id"], [options[0]])
    evidence.http("vote after close", late)
    assert late.status_code == 409, f"a vote after close answered {late.status_code}"


@check(
    "FEAT-003",
    "Typing indicators reach the other participant's socket",
    category="features",
    severity="HIGH",
    finding="HIGH-3 / MEDIUM-15: typing indicator not implemented",
    fix="Broadcast typing events, throttled per user and expiring after a few seconds.",
    impact="Nobody sees when others are typing: the chat feels broken next to what users know.",
)
def test_typing_reaches_the_other_participant(
    stack: Platform, api: ApiClient, gateway_url: str, evidence: EvidenceLog
) -> None:
    require_components(stack.names(), "chat")
    alice, bob = api.new_session(), api.new_session()
    conversation = Chat(api, alice).conversation(bob)
    with EventListener(gateway_url, bob.access_token) as bob_ws:
        # Typing is not replayed: a signal before bob's socket is registered reaches nobody.
        bob_ws.wait_for(lambda e: e["type"] == "ready")
        answer = Chat(api, alice).typing(conversation)
        assert answer.status_code == 204, f"typing answered {answer.status_code}"
        event = bob_ws.wait_for(
            lambda e: e["type"] == "typing" and e["data"].get("typing") is True,
            TYPING_EVENT_DEADLINE_S,
        )
    evidence.note("typing event", str(event))
    assert event["data"].get("user_id") == alice.user_id


@check(
    "FEAT-007",
    "Message search finds by words in any order, only in the caller's conversations, paged",
    category="features",
    severity="MEDIUM",
    finding="Unfinished features: message search",
    fix="Full-text search (websearch_to_tsquery over a stemmed tsvector) restricted to the "
    "caller's conversations, with a limit.",
    impact="Users cannot find a message unless they type its exact words in order, or search "
    "shows them messages of conversations they are not in.",
)
def test_search_finds_by_words(
    stack: Platform, api: ApiClient, gateway_url: str, evidence: EvidenceLog
) -> None:
    require_components(stack.names(), "chat")
    flows_chat.search_feature(flows_chat.Room.of(api, gateway_url), evidence)
