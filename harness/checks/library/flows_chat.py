"""The chat flow's steps beyond sending (history, search, reactions, typing, presence) and
the poll steps (create, vote, close), one check each. Every step sets up what it needs (a
conversation, a message, a poll) and judges only itself.

    flows_chat.STEPS["search"](Room.of(api, gateway_url), evidence)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from harness.checks.evidence import EvidenceLog
from harness.clients.api import ApiClient, Session
from harness.clients.realtime import Chat, EventListener
from harness.waiting import eventually

#: How long an explicit "stopped typing" may take to arrive: below the product's typing
#: timeout (5 s), past which the sweep sends the same event and would hide a lost stop.
TYPING_STOP_DEADLINE_S = 3.0
PRESENCE_DEADLINE_S = 10.0


@dataclass
class Room:
    """Alice and bob in a direct conversation, and eve, who is in none of theirs."""

    api: ApiClient
    gateway_url: str
    alice: Session
    bob: Session
    eve: Session
    conversation: str

    @classmethod
    def of(cls, api: ApiClient, gateway_url: str) -> Room:
        alice, bob, eve = api.new_session(), api.new_session(), api.new_session()
        return cls(api, gateway_url, alice, bob, eve, Chat(api, alice).conversation(bob))

    def chat(self, who: Session) -> Chat:
        return Chat(self.api, who)

    def get(self, who: Session, path: str, **params: Any) -> httpx.Response:
        return self.api.http.get(path, params=params, headers=who.headers)

    def post(self, who: Session, path: str, body: Any = None) -> httpx.Response:
        return self.api.http.post(path, json=body, headers=who.headers)


Step = Callable[[Room, EvidenceLog], None]


def _word() -> str:
    return f"zebra{uuid.uuid4().hex[:8]}"


def history(room: Room, evidence: EvidenceLog) -> None:
    """The messages sent come back newest first; a non-participant can neither read nor
    write the conversation (404, as if it did not exist)."""
    chat = room.chat(room.alice)
    sent = [chat.send(room.conversation, f"message {i}").json()["message_id"] for i in range(3)]
    listed = [m["message_id"] for m in room.chat(room.bob).history(room.conversation)]
    evidence.note("sent / listed (newest first)", f"{sent} / {listed}")
    assert listed == sent[::-1], "history does not list the messages sent, newest first"
    path = f"/api/v1/conversations/{room.conversation}/messages"
    outsider = {
        "history": room.get(room.eve, path).status_code,
        "send": room.chat(room.eve).send(room.conversation, "let me in").status_code,
    }
    evidence.note("a non-participant's attempts", str(outsider))
    assert outsider == {"history": 404, "send": 404}, outsider


def _search(room: Room, who: Session, terms: str, **params: Any) -> list[str]:
    found = room.get(who, "/api/v1/search/messages", q=terms, **params)
    assert found.status_code == 200, f"search answered {found.status_code}"
    return [m["message_id"] for m in found.json()["results"]]


def search(room: Room, evidence: EvidenceLog) -> None:
    """A participant finds a message by one of its words; `limit` caps the results; a
    stranger finds nothing."""
    word = _word()
    chat = room.chat(room.alice)
    sent = [chat.send(room.conversation, f"the {word} crossed {i}").json() for i in range(3)]
    found = _search(room, room.bob, word)
    evidence.note("found by one word", str(found))
    assert sorted(found) == sorted(m["message_id"] for m in sent), "search missed a message"
    capped = _search(room, room.bob, word, limit=2)
    evidence.note("found with limit=2", str(capped))
    assert len(capped) == 2, f"limit=2 returned {len(capped)} results"
    assert _search(room, room.eve, word) == [], "search shows a stranger other people's messages"


def search_feature(room: Room, evidence: EvidenceLog) -> None:
    """Search finds a message by several of its words, in any order and inflected; it
    returns only messages of the caller's own conversations (also when a stranger's hold the
    same words); `limit` pages the results."""
    word = _word()
    alice = room.chat(room.alice)
    mine = [
        alice.send(room.conversation, f"the {word} jumped over the lazy dogs").json(),
        alice.send(alice.conversation(room.eve), f"dogs chase the {word} {word}").json(),
    ]
    stranger = room.chat(room.eve)
    theirs = stranger.send(stranger.conversation(room.bob), f"{word} and the dogs").json()
    found = {
        who: _search(room, session, f"dog {word}")
        for who, session in (("alice", room.alice), ("eve", room.eve))
    }
    evidence.note("found by 'dog <word>' (alice / eve)", str(found))
    assert sorted(found["alice"]) == sorted(m["message_id"] for m in mine), (
        "search by two words, in another order and inflected, missed alice's messages or "
        "showed her someone else's"
    )
    assert theirs["message_id"] in found["eve"] and mine[0]["message_id"] not in found["eve"]
    paged = _search(room, room.alice, f"dog {word}", limit=1)
    assert len(paged) == 1 and paged[0] in found["alice"], f"limit=1 returned {paged}"


def reactions(room: Room, evidence: EvidenceLog) -> None:
    """A reaction shows on the message once per (user, emoji), added twice or not; removed,
    it is gone; a non-participant's reaction is 404."""
    message = room.chat(room.alice).send(room.conversation, "react to me").json()
    path = f"/api/v1/messages/{message['message_id']}/reactions"
    for _ in range(2):
        added = room.post(room.bob, path, {"emoji": "👍"})
        assert added.status_code == 201, f"reaction answered {added.status_code}"
    shown = room.chat(room.alice).history(room.conversation)[0].get("reactions")
    evidence.note("reactions on the message", str(shown))
    assert shown == {"👍": [room.bob.user_id]}, f"the message shows {shown}"
    removed = room.api.http.delete(f"{path}/👍", headers=room.bob.headers)
    assert removed.status_code == 204, f"removing the reaction answered {removed.status_code}"
    after = room.chat(room.alice).history(room.conversation)[0].get("reactions")
    assert not after, f"a removed reaction is still shown: {after}"
    stranger = room.post(room.eve, path, {"emoji": "👍"})
    assert stranger.status_code == 404, f"a non-participant's reaction: {stranger.status_code}"


def _typing(room: Room, typing: bool) -> None:
    path = f"/api/v1/conversations/{room.conversation}/typing"
    answer = room.post(room.alice, path, {"typing": typing})
    assert answer.status_code == 204, f"typing {typing} answered {answer.status_code}"


def typing(room: Room, evidence: EvidenceLog) -> None:
    """Started and stopped typing both reach the other participant's socket, the stop at
    once (not when the indicator times out); a stranger's typing is 404."""
    with EventListener(room.gateway_url, room.bob.access_token) as bob_ws:
        bob_ws.wait_for(lambda e: e["type"] == "ready")
        _typing(room, True)
        bob_ws.wait_for(lambda e: e["type"] == "typing" and e["data"].get("typing") is True)
        _typing(room, False)
        stopped = bob_ws.wait_for(
            lambda e: e["type"] == "typing" and e["data"].get("typing") is False,
            TYPING_STOP_DEADLINE_S,
        )
    evidence.note("stopped-typing event", str(stopped))
    assert stopped["data"].get("user_id") == room.alice.user_id
    path = f"/api/v1/conversations/{room.conversation}/typing"
    stranger = room.post(room.eve, path, {"typing": True})
    assert stranger.status_code == 404, f"a stranger's typing answered {stranger.status_code}"


def presence(room: Room, evidence: EvidenceLog) -> None:
    """Bob is online for alice while his socket is open; a stranger gets 404."""
    path = f"/api/v1/presence/{room.bob.user_id}"

    def status() -> str:
        answer = room.get(room.alice, path)
        assert answer.status_code == 200, f"presence answered {answer.status_code}"
        return str(answer.json()["status"])

    with EventListener(room.gateway_url, room.bob.access_token) as bob_ws:
        bob_ws.wait_for(lambda e: e["type"] == "ready")
        eventually(lambda: status() == "online", PRESENCE_DEADLINE_S, what="bob online")
    stranger = room.get(room.eve, path)
    evidence.http("a stranger asks for bob's presence", stranger)
    assert stranger.status_code == 404, f"a stranger's presence query: {stranger.status_code}"


def _poll(room: Room, options: list[str]) -> dict[str, Any]:
    return room.chat(room.alice).create_poll(room.conversation, options)


def poll_create(room: Room, evidence: EvidenceLog) -> None:
    """The poll comes back as asked (options in order, no votes, open), the other participant
    reads it, a stranger gets 404, and options that differ only in case are refused (422)."""
    poll = _poll(room, ["red", "green"])
    assert [o["text"] for o in poll["options"]] == ["red", "green"], poll["options"]
    assert [o["votes"] for o in poll["options"]] == [0, 0] and poll["closed"] is False
    read = room.chat(room.bob).poll(poll["poll_id"])
    assert read.status_code == 200, f"the other participant reading the poll: {read.status_code}"
    assert room.chat(room.eve).poll(poll["poll_id"]).status_code == 404
    path = f"/api/v1/conversations/{room.conversation}/polls"
    twins = room.post(room.alice, path, {"question": "which?", "options": ["Red", "red"]})
    evidence.http("a poll with options 'Red' and 'red'", twins)
    assert twins.status_code == 422, f"duplicate options answered {twins.status_code}"


def _counts(poll: dict[str, Any]) -> list[int]:
    return [o["votes"] for o in poll["options"]]


def poll_vote(room: Room, evidence: EvidenceLog) -> None:
    """A vote is counted; a changed vote replaces the ballot (one voter, one vote)."""
    poll = _poll(room, ["red", "green", "blue"])
    red, green = (o["option_id"] for o in poll["options"][:2])
    bob = room.chat(room.bob)
    first = bob.vote(poll["poll_id"], [red])
    assert first.status_code == 200, f"vote answered {first.status_code}"
    assert _counts(first.json()) == [1, 0, 0], _counts(first.json())
    changed = bob.vote(poll["poll_id"], [green]).json()
    tally = room.chat(room.alice).poll(poll["poll_id"]).json()
    evidence.note(
        "counts after the change / total voters", f"{_counts(tally)} / {tally['total_voters']}"
    )
    assert _counts(changed) == _counts(tally) == [0, 1, 0], "a changed vote is not a replacement"
    assert tally["total_voters"] == 1, f"{tally['total_voters']} voters counted for one"


def poll_close(room: Room, evidence: EvidenceLog) -> None:
    """Only the creator closes (403 for another participant); a vote after it is 409."""
    poll = _poll(room, ["yes", "no"])
    option = poll["options"][0]["option_id"]
    by_other = room.chat(room.bob).close_poll(poll["poll_id"])
    evidence.http("close by a participant who did not create it", by_other)
    assert by_other.status_code == 403, f"a non-creator's close answered {by_other.status_code}"
    closed = room.chat(room.alice).close_poll(poll["poll_id"])
    assert closed.status_code == 200 and closed.json()["closed"] is True, closed.status_code
    late = room.chat(room.bob).vote(poll["poll_id"], [option])
    evidence.http("vote after close", late)
    assert late.status_code == 409, f"a vote after close answered {late.status_code}"


STEPS: dict[str, Step] = {
    "history": history,
    "search": search,
    "reactions": reactions,
    "typing": typing,
    "presence": presence,
    "poll create": poll_create,
    "poll vote": poll_vote,
    "poll close": poll_close,
}
