"""The polls model: polls created, votes cast and changed (single and multiple
choice), polls closed by their creator (others are refused), votes on a closed poll
refused, with Redis and PostgreSQL failing under the operations."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, rule

from harness.checks.library.stateful import ModelMachine, Outcome, begin_run, outcome_of
from harness.clients.realtime import Chat

PEOPLE = ("alice", "bob", "carol")
POLL_FAULTS = (None, "redis cut", "redis slow", "postgres slow", "postgres flaky", "postgres cut")


@dataclass
class Poll:
    poll_id: str
    creator: str
    option_ids: list[str]
    multiple: bool
    #: voter → the options of their current vote.
    votes: dict[str, set[str]] = field(default_factory=dict)
    closed: bool = False

    def tally(self) -> dict[str, int]:
        return {o: sum(o in chosen for chosen in self.votes.values()) for o in self.option_ids}


class PollMachine(ModelMachine):
    @initialize()
    def conversation(self) -> None:
        begin_run(self.context)
        users = self.context.users
        self.chats = {name: Chat(self.context.api, users[name]) for name in PEOPLE}
        self.conversation_id = self.checked(
            "set-up", lambda: self.chats["alice"].conversation(users["bob"], users["carol"])
        )
        self.polls: list[Poll] = []
        self.create("alice", 3, False, None)  # every run starts with a poll to act on

    @rule(
        creator=st.sampled_from(PEOPLE),
        options=st.integers(2, 4),
        multiple=st.booleans(),
        fault=st.sampled_from(POLL_FAULTS),
    )
    def create(self, creator: str, options: int, multiple: bool, fault: str | None) -> None:
        http, headers = self.context.api.http, self.context.users[creator].headers
        path = f"/api/v1/conversations/{self.conversation_id}/polls"
        texts = [f"option {i}" for i in range(options)]
        body = {"question": "which?", "options": texts, "multiple_choice": multiple}
        # Not idempotent: an unknown creation is not retried (the model never learns of it).
        answer = self.write(fault, lambda: http.post(path, json=body, headers=headers), retry=False)
        if fault is not None and outcome_of(answer) is Outcome.UNKNOWN:
            return
        self.expect(answer.status_code == 201, f"create poll: {answer.status_code}")
        made = answer.json()
        ids = [o["option_id"] for o in made["options"]]
        self.polls.append(Poll(made["poll_id"], creator, ids, multiple))

    @rule(
        voter=st.sampled_from(PEOPLE),
        pick=st.integers(0, 63),
        first=st.integers(0, 3),
        also=st.integers(0, 4),
        fault=st.sampled_from(POLL_FAULTS),
    )
    def vote(self, voter: str, pick: int, first: int, also: int, fault: str | None) -> None:
        if not self.polls:
            return  # no precondition: see ModelMachine
        poll = self.polls[pick % len(self.polls)]
        chosen = {poll.option_ids[first % len(poll.option_ids)]}
        if poll.multiple and also < len(poll.option_ids):
            chosen.add(poll.option_ids[also])
        chat = self.chats[voter]
        answer = self.write(fault, lambda: chat.vote(poll.poll_id, sorted(chosen)))
        assert answer is not None
        if poll.closed:
            self.expect(answer.status_code == 409, f"vote on a closed poll: {answer.status_code}")
            return
        self.expect(answer.status_code == 200, f"vote: {answer.status_code} {answer.text[:120]}")
        poll.votes[voter] = chosen

    @rule(who=st.sampled_from(PEOPLE), pick=st.integers(0, 63), fault=st.sampled_from(POLL_FAULTS))
    def close(self, who: str, pick: int, fault: str | None) -> None:
        if not self.polls:
            return
        poll = self.polls[pick % len(self.polls)]
        chat = self.chats[who]
        answer = self.write(fault, lambda: chat.close_poll(poll.poll_id))
        assert answer is not None
        if who != poll.creator:
            self.expect(answer.status_code == 403, f"close by another: {answer.status_code}")
            return
        self.expect(answer.status_code == 200, f"close: {answer.status_code}")
        poll.closed = True

    @invariant()
    def polls_match_the_model(self) -> None:
        for poll in getattr(self, "polls", []):
            stored = self.read(lambda p=poll: self.chats["carol"].poll(p.poll_id)).json()
            counts = {o["option_id"]: o["votes"] for o in stored["options"]}
            self.expect(counts == poll.tally(), f"{poll.poll_id}: {counts}, model {poll.tally()}")
            self.expect(
                stored["total_voters"] == len(poll.votes),
                f"{poll.poll_id}: {stored['total_voters']} voters, model {len(poll.votes)}",
            )
            self.expect(
                stored["closed"] == poll.closed, f"{poll.poll_id}: closed {stored['closed']}"
            )
