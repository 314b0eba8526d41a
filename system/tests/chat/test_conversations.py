"""Conversations, messages, reactions and search through the gateway; a user
who is not a participant gets 404 for every one of them."""

from __future__ import annotations

import uuid

import httpx

from tests.chat.support import User, assert_error, history, new_conversation, send


async def test_direct_conversation_is_one_per_pair(api: httpx.AsyncClient, alice: User, bob: User):
    first = await new_conversation(api, alice, [bob], kind="direct")
    again = await new_conversation(api, bob, [alice], kind="direct")
    assert again == first
    listed = (await api.get("/api/v1/conversations", headers=bob.headers)).json()
    mine = [c for c in listed["conversations"] if c["conversation_id"] == first]
    assert len(mine) == 1 and sorted(mine[0]["participant_ids"]) == sorted(
        [alice.user_id, bob.user_id]
    )


async def test_a_retried_send_returns_the_same_message(
    api: httpx.AsyncClient, alice: User, bob: User
):
    conversation = await new_conversation(api, alice, [bob])
    first = await send(api, alice, conversation, "hello", key="retry-1")
    again = await send(api, alice, conversation, "hello", key="retry-1")
    assert first.status_code == again.status_code == 201, again.text
    assert again.json()["message_id"] == first.json()["message_id"]
    assert [m["message_id"] for m in await history(api, bob, conversation)] == [
        first.json()["message_id"]
    ]
    reused = await send(api, alice, conversation, "something else", key="retry-1")
    assert_error(reused, 409, "client_msg_id_reused")


async def test_history_pages_newest_first(api: httpx.AsyncClient, alice: User, bob: User):
    conversation = await new_conversation(api, alice, [bob])
    sent = [(await send(api, alice, conversation, f"message {i}")).json() for i in range(7)]
    url = f"/api/v1/conversations/{conversation}/messages"
    page = (await api.get(url, params={"limit": 3}, headers=bob.headers)).json()
    assert [m["content"] for m in page["messages"]] == ["message 6", "message 5", "message 4"]
    older = await api.get(
        url, params={"limit": 3, "before": page["next_before"]}, headers=bob.headers
    )
    expected = ["message 3", "message 2", "message 1"]
    assert [m["content"] for m in older.json()["messages"]] == expected
    everything = await history(api, bob, conversation)
    assert [m["message_id"] for m in everything] == [m["message_id"] for m in reversed(sent)]


async def test_reactions_are_added_once_and_removed(api: httpx.AsyncClient, alice: User, bob: User):
    conversation = await new_conversation(api, alice, [bob])
    message = (await send(api, alice, conversation, "react to me")).json()["message_id"]
    url = f"/api/v1/messages/{message}/reactions"
    for _ in range(2):  # adding twice is harmless
        added = await api.post(url, json={"emoji": "👍"}, headers=bob.headers)
        assert added.status_code == 201, added.text
    assert (await api.post(url, json={"emoji": "🎉"}, headers=alice.headers)).status_code == 201
    latest = (await history(api, alice, conversation))[0]
    assert latest["reactions"] == {"👍": [bob.user_id], "🎉": [alice.user_id]}
    removed = await api.delete(f"{url}/👍", headers=bob.headers)
    assert removed.status_code == 204
    assert (await history(api, alice, conversation))[0]["reactions"] == {"🎉": [alice.user_id]}


async def test_search_ranks_matches_from_my_conversations_only(
    api: httpx.AsyncClient, alice: User, bob: User, mallory: User
):
    word = f"zebra{uuid.uuid4().hex[:8]}"  # unique to this test
    ours = await new_conversation(api, alice, [bob])
    theirs = await new_conversation(api, mallory, [])
    await send(api, alice, ours, f"the {word} crossed the road")
    await send(api, alice, ours, f"{word} {word} {word} stripes everywhere")
    await send(api, alice, ours, "nothing to see here")
    await send(api, mallory, theirs, f"a secret {word} of mine")

    found = await api.get("/api/v1/search/messages", params={"q": word}, headers=bob.headers)
    assert found.status_code == 200, found.text
    contents = [m["content"] for m in found.json()["results"]]
    assert contents == [f"{word} {word} {word} stripes everywhere", f"the {word} crossed the road"]
    stemmed = await api.get(
        "/api/v1/search/messages", params={"q": f"{word} crossing"}, headers=bob.headers
    )
    assert [m["content"] for m in stemmed.json()["results"]] == [f"the {word} crossed the road"]


async def test_a_non_participant_gets_404_everywhere(
    api: httpx.AsyncClient, alice: User, bob: User, mallory: User
):
    conversation = await new_conversation(api, alice, [bob])
    message = (await send(api, alice, conversation, "private words")).json()["message_id"]
    poll = await api.post(
        f"/api/v1/conversations/{conversation}/polls",
        json={"question": "secret?", "options": ["yes", "no"]},
        headers=alice.headers,
    )
    poll_id, option = poll.json()["poll_id"], poll.json()["options"][0]["option_id"]
    base = f"/api/v1/conversations/{conversation}"
    as_mallory = {"headers": mallory.headers}
    new_poll = {"question": "q", "options": ["a", "b"]}
    vote = {"option_ids": [option]}
    refusals = [
        await api.get(base, **as_mallory),
        await api.get(f"{base}/messages", **as_mallory),
        await send(api, mallory, conversation, "let me in"),
        await api.post(f"{base}/typing", **as_mallory),
        await api.post(f"{base}/polls", json=new_poll, **as_mallory),
        await api.post(f"/api/v1/messages/{message}/reactions", json={"emoji": "👀"}, **as_mallory),
        await api.delete(f"/api/v1/messages/{message}/reactions/👀", **as_mallory),
        await api.get(f"/api/v1/polls/{poll_id}", **as_mallory),
        await api.post(f"/api/v1/polls/{poll_id}/votes", json=vote, **as_mallory),
        await api.post(f"/api/v1/polls/{poll_id}/close", **as_mallory),
        await api.get(f"/api/v1/presence/{alice.user_id}", **as_mallory),
    ]
    for response in refusals:
        assert_error(response, 404)
    listed = (await api.get("/api/v1/conversations", **as_mallory)).json()["conversations"]
    assert conversation not in [c["conversation_id"] for c in listed]
    found = await api.get("/api/v1/search/messages", params={"q": "private"}, **as_mallory)
    assert found.json()["results"] == []
    assert [m["content"] for m in await history(api, bob, conversation)] == ["private words"]
