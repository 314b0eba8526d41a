"""Polls: 50 voters at once, some changing their minds, leave exact counts and
one ballot each; only the creator closes; a closed poll refuses votes."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
from secureconnect.chat.schemas import CreatePoll

from tests.chat.support import EVENT_DEADLINE_S, User, assert_error, new_conversation

VOTERS = 50
CHANGERS = 20
#: How far ahead the deadline of the deadline test lies, seconds.
DEADLINE_AHEAD_S = 1.5


async def create_poll(
    api: httpx.AsyncClient, creator: User, conversation: str, **fields: object
) -> dict:
    body = {"question": "Where to?", "options": ["north", "south", "east", "west"], **fields}
    response = await api.post(
        f"/api/v1/conversations/{conversation}/polls", json=body, headers=creator.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def vote(api: httpx.AsyncClient, user: User, poll_id: str, options: list[str]):
    return await api.post(
        f"/api/v1/polls/{poll_id}/votes", json={"option_ids": options}, headers=user.headers
    )


async def test_concurrent_votes_and_changes_are_counted_exactly(api: httpx.AsyncClient, users):
    creator, *voters = await users(VOTERS + 1)
    conversation = await new_conversation(api, creator, voters)
    poll = await create_poll(api, creator, conversation)
    options = [o["option_id"] for o in poll["options"]]
    rng = random.Random(7)
    first = {v.user_id: rng.choice(options) for v in voters}
    final = dict(first)
    changers = voters[:CHANGERS]
    for voter in changers:
        final[voter.user_id] = rng.choice([o for o in options if o != first[voter.user_id]])

    async def ballot(voter: User) -> None:
        assert (await vote(api, voter, poll["poll_id"], [first[voter.user_id]])).status_code == 200
        if voter in changers:  # the change races the other voters' first ballots
            changed = await vote(api, voter, poll["poll_id"], [final[voter.user_id]])
            assert changed.status_code == 200, changed.text

    await asyncio.gather(*(ballot(v) for v in voters))

    result = (await api.get(f"/api/v1/polls/{poll['poll_id']}", headers=creator.headers)).json()
    expected = Counter(final.values())
    assert {o["option_id"]: o["votes"] for o in result["options"]} == {
        o: expected.get(o, 0) for o in options
    }
    assert result["total_voters"] == VOTERS
    assert sorted(result["voters"]) == sorted(v.user_id for v in voters)
    every_ballot = [u for o in result["options"] for u in o["voters"]]
    assert sorted(every_ballot) == sorted(v.user_id for v in voters)  # exactly one ballot each
    for option in result["options"]:
        chose = sorted(u for u, o in final.items() if o == option["option_id"])
        assert sorted(option["voters"]) == chose


async def test_same_voter_racing_themselves_keeps_one_ballot(
    api: httpx.AsyncClient, alice: User, bob: User
):
    conversation = await new_conversation(api, alice, [bob])
    poll = await create_poll(api, alice, conversation)
    options = [o["option_id"] for o in poll["options"]]
    answers = await asyncio.gather(*(vote(api, bob, poll["poll_id"], [o]) for o in options * 3))
    assert all(a.status_code == 200 for a in answers)
    result = (await api.get(f"/api/v1/polls/{poll['poll_id']}", headers=bob.headers)).json()
    assert result["total_voters"] == 1 and sum(o["votes"] for o in result["options"]) == 1


async def test_multiple_choice_anonymous_and_validation(
    api: httpx.AsyncClient, alice: User, bob: User
):
    conversation = await new_conversation(api, alice, [bob])
    poll = await create_poll(api, alice, conversation, multiple_choice=True, anonymous=True)
    options = [o["option_id"] for o in poll["options"]]
    both = await vote(api, bob, poll["poll_id"], options[:2])
    assert both.status_code == 200, both.text
    assert [o["votes"] for o in both.json()["options"]] == [1, 1, 0, 0]
    assert both.json()["voters"] is None and both.json()["options"][0]["voters"] is None
    assert_error(await vote(api, bob, poll["poll_id"], [poll["poll_id"]]), 422, "unknown_option")

    single = await create_poll(api, alice, conversation)
    two = [o["option_id"] for o in single["options"]][:2]
    assert_error(await vote(api, bob, single["poll_id"], two), 422, "single_choice")
    duplicate = await api.post(
        f"/api/v1/conversations/{conversation}/polls",
        json={"question": "q", "options": ["same", "Same"]},
        headers=alice.headers,
    )
    assert_error(duplicate, 422, "duplicate_options")
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    late = await api.post(
        f"/api/v1/conversations/{conversation}/polls",
        json={"question": "q", "options": ["a", "b"], "closes_at": past},
        headers=alice.headers,
    )
    assert_error(late, 422, "invalid_closes_at")


async def test_only_the_creator_closes_and_closed_polls_refuse_votes(
    api: httpx.AsyncClient, alice: User, bob: User
):
    conversation = await new_conversation(api, alice, [bob])
    poll = await create_poll(api, alice, conversation)
    option = poll["options"][0]["option_id"]
    assert (await vote(api, bob, poll["poll_id"], [option])).status_code == 200
    url = f"/api/v1/polls/{poll['poll_id']}/close"
    assert_error(await api.post(url, headers=bob.headers), 403, "not_poll_creator")
    closed = await api.post(url, headers=alice.headers)
    assert closed.status_code == 200 and closed.json()["closed"] is True
    assert_error(await vote(api, bob, poll["poll_id"], [option]), 409, "poll_closed")
    assert_error(await vote(api, alice, poll["poll_id"], [option]), 409, "poll_closed")
    final = (await api.get(f"/api/v1/polls/{poll['poll_id']}", headers=bob.headers)).json()
    assert final["total_voters"] == 1 and final["closed"] is True


async def test_a_vote_racing_the_close_is_either_counted_or_refused(api: httpx.AsyncClient, users):
    creator, *voters = await users(11)
    conversation = await new_conversation(api, creator, voters)
    poll = await create_poll(api, creator, conversation)
    option = poll["options"][0]["option_id"]
    close = api.post(f"/api/v1/polls/{poll['poll_id']}/close", headers=creator.headers)
    ballots = [vote(api, v, poll["poll_id"], [option]) for v in voters]
    answers = await asyncio.gather(close, *ballots)
    closed, votes = answers[0].json(), answers[1:]
    assert {a.status_code for a in votes} <= {200, 409}
    accepted = sum(a.status_code == 200 for a in votes)
    assert closed["total_voters"] == accepted  # the tally at close is final
    final = (await api.get(f"/api/v1/polls/{poll['poll_id']}", headers=creator.headers)).json()
    assert final["total_voters"] == accepted


async def test_a_poll_closes_at_its_deadline(
    api: httpx.AsyncClient, alice: User, bob: User, gateway_url: str, streams
):
    conversation = await new_conversation(api, alice, [bob])
    at_bob = await streams(gateway_url, bob)
    closes_at = datetime.now(UTC) + timedelta(seconds=DEADLINE_AHEAD_S)
    poll = await create_poll(api, alice, conversation, closes_at=closes_at.isoformat())
    option = poll["options"][0]["option_id"]
    assert (await vote(api, bob, poll["poll_id"], [option])).status_code == 200
    closed = await at_bob.next("poll.closed", deadline_s=DEADLINE_AHEAD_S + EVENT_DEADLINE_S)
    assert closed["poll_id"] == poll["poll_id"] and closed["closed"] is True
    assert closed["total_voters"] == 1
    assert_error(await vote(api, bob, poll["poll_id"], [option]), 409, "poll_closed")


def test_the_schema_says_poll_options_are_distinct() -> None:
    """The service refuses repeated options (422); a request built from the schema alone
    (the authorization audit's, any generated client's) must know it."""
    assert CreatePoll.model_json_schema()["properties"]["options"]["uniqueItems"] is True
