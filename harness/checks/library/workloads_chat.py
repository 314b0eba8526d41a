"""Chat writes for the invariant checks: messages, ballots, reactions (see workloads.py)."""

from __future__ import annotations

from typing import Any

import httpx

from harness.checks.history import check_set_full
from harness.checks.invariants import (
    POLLS,
    REACT,
    REACTIONS,
    VOTE,
    InvariantResult,
    check_ballots,
    check_reactions,
    poll_state,
)
from harness.checks.library.workloads import READ_DEADLINE_S, Team, at_once
from harness.clients.api import ApiClient, Session
from harness.clients.realtime import Chat
from harness.waiting import eventually

#: client_msg_id prefix of the Messages workload (other workloads send messages too).
KEY_PREFIX = "inv-"
#: The kind (`f`) of a message send in the history (a set-full check: keys added).
SEND = "add"


def history(team: Team) -> list[dict[str, Any]]:
    """Every message of the team's conversation, read once the stack answers again."""
    with team.client() as api:
        return eventually(
            lambda: Chat(api, team.owner).history(team.conversation),
            READ_DEADLINE_S,
            what="message history",
        )


class Messages:
    """The same client_msg_id sent by its user on two connections at once; users in parallel."""

    name = "messages"

    def prepare(self, team: Team) -> None:
        pass

    def round(self, team: Team, number: int) -> None:
        sends = []
        for index, user in enumerate(team.everyone):
            key = f"{KEY_PREFIX}u{index}-r{number}"
            for _ in range(2):
                sends.append(lambda user=user, key=key: self._send(team, user, key))
        at_once(*sends)

    def _send(self, team: Team, user: Session, key: str) -> None:
        path = f"/api/v1/conversations/{team.conversation}/messages"
        body = {"content": f"message {key}", "client_msg_id": key}
        send = team.call(user, lambda api, s: api.http.post(path, json=body, headers=s.headers))
        team.recorder.write(team.recorder.process(), SEND, key, send)

    def read(self, team: Team) -> None:
        keys = [m["client_msg_id"] for m in history(team)]
        team.recorder.history.final_read([k for k in keys if k.startswith(KEY_PREFIX)])

    def check(self, team: Team) -> InvariantResult:
        found = check_set_full(team.recorder.history)
        result = InvariantResult("messages", acknowledged=found.acknowledged)
        for kind in ("lost", "duplicated", "unexpected", "failed_but_present"):
            for value in getattr(found, kind):
                result.violate(kind.replace("_", " "), str(value))
        result.indeterminate = found.indeterminate_present + found.indeterminate_absent
        return result


class Ballots:
    """Each voter votes twice at once on two connections (two ballots); voters in parallel."""

    name = "ballots"

    def __init__(self) -> None:
        self.poll = ""
        self.options: list[str] = []

    def prepare(self, team: Team) -> None:
        with team.client() as api:
            created = Chat(api, team.owner).create_poll(team.conversation, ["a", "b", "c"])
        self.poll = created["poll_id"]
        self.options = [o["option_id"] for o in created["options"]]

    def round(self, team: Team, number: int) -> None:
        sends = []
        for index, voter in enumerate(team.everyone):
            for shift in (0, 1):
                option = self.options[(index + number + shift) % len(self.options)]
                sends.append(lambda v=voter, o=option: self._vote(team, v, o))
        at_once(*sends)

    def _vote(self, team: Team, voter: Session, option: str) -> None:
        value = {"poll": self.poll, "voter": voter.user_id, "options": [option]}
        path = f"/api/v1/polls/{self.poll}/votes"
        body = {"option_ids": [option]}
        send = team.call(voter, lambda api, s: api.http.post(path, json=body, headers=s.headers))
        team.recorder.write(team.recorder.process(), VOTE, value, send)

    def read(self, team: Team) -> None:
        body = team.read(f"/api/v1/polls/{self.poll}")
        team.recorder.history.final_read({self.poll: poll_state(body)}, POLLS)

    def check(self, team: Team) -> InvariantResult:
        return check_ballots(team.recorder.history)


class Reactions:
    """The same reaction added by its user on two connections at once, while a third
    connection adds or removes another; users in parallel."""

    name = "reactions"

    def __init__(self) -> None:
        self.message = ""

    def prepare(self, team: Team) -> None:
        with team.client() as api:
            sent = Chat(api, team.owner).send(team.conversation, "react to me")
        assert sent.status_code == 201, f"send answered {sent.status_code}"
        self.message = sent.json()["message_id"]

    def round(self, team: Team, number: int) -> None:
        sends = []
        for user in team.everyone:
            sends += [lambda u=user: self._react(team, u, "👍", True)] * 2
            sends.append(lambda u=user: self._react(team, u, "🎉", number % 2 == 0))
        at_once(*sends)

    def _react(self, team: Team, user: Session, emoji: str, add: bool) -> None:
        value = {"message": self.message, "user": user.user_id, "emoji": emoji, "add": add}
        path = f"/api/v1/messages/{self.message}/reactions"

        def send(api: ApiClient, s: Session) -> httpx.Response:
            if add:
                return api.http.post(path, json={"emoji": emoji}, headers=s.headers)
            return api.http.delete(f"{path}/{emoji}", headers=s.headers)

        team.recorder.write(team.recorder.process(), REACT, value, team.call(user, send))

    def read(self, team: Team) -> None:
        mine = [m for m in history(team) if m["message_id"] == self.message]
        # Sent and acknowledged (201) before the first round: gone is a lost write.
        assert mine, f"the message reacted to ({self.message}), acknowledged, is not in history"
        team.recorder.history.final_read({self.message: mine[0]["reactions"]}, REACTIONS)

    def check(self, team: Team) -> InvariantResult:
        return check_reactions(team.recorder.history)
