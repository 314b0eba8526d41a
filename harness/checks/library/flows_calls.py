"""The call steps (create, join, leave, end) and TURN credentials, one check each.

Every call step places a fresh group call (alice calls bob and carol), takes the call to
just before its step, runs the step and compares the call with what the state machine of
the API contract says: the state, each participant's status, the end reason.

    flows_calls.judge_step(Call.place(api), "join", evidence)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any

import httpx

from harness.checks.evidence import EvidenceLog
from harness.clients.api import ApiClient, Session
from harness.clients.realtime import Chat

#: Slack between the harness's clock and the service's on a TURN username's expiry, seconds.
CLOCK_SLACK_S = 60


@dataclass
class Call:
    """A group call alice placed to bob and carol, and eve, who is not in it."""

    api: ApiClient
    alice: Session
    bob: Session
    carol: Session
    eve: Session
    placed: httpx.Response

    @classmethod
    def place(cls, api: ApiClient) -> Call:
        alice, bob, carol, eve = (api.new_session() for _ in range(4))
        conversation = Chat(api, alice).conversation(bob, carol)
        body = {"conversation_id": conversation, "media": "audio", "mode": "p2p"}
        placed = api.http.post("/api/v1/calls", json=body, headers=alice.headers)
        assert placed.status_code == 201, f"initiate answered {placed.status_code}"
        return cls(api, alice, bob, carol, eve, placed)

    @property
    def path(self) -> str:
        return f"/api/v1/calls/{self.placed.json()['call_id']}"

    def act(self, who: Session, action: str) -> httpx.Response:
        return self.api.http.post(f"{self.path}/{action}", headers=who.headers)

    def state(self, who: Session) -> httpx.Response:
        return self.api.http.get(self.path, headers=who.headers)

    def statuses(self, call: dict[str, Any]) -> dict[str, str]:
        people = {"alice": self.alice, "bob": self.bob, "carol": self.carol}
        names = {who.user_id: name for name, who in people.items()}
        return {names[p["user_id"]]: p["status"] for p in call["participants"]}


def _create(call: Call, evidence: EvidenceLog) -> dict[str, Any]:
    placed = call.placed.json()
    assert placed["ice_servers"], "the placed call carries no ICE servers"
    stranger = call.state(call.eve)
    evidence.http("a non-participant reads the call", stranger)
    assert stranger.status_code == 404, f"a non-participant got {stranger.status_code}"
    return dict(placed)


def _join(call: Call, evidence: EvidenceLog) -> dict[str, Any]:
    joined = call.act(call.bob, "join")
    assert joined.status_code == 200, f"join answered {joined.status_code}"
    assert joined.json()["answered_at"], "an answered call has no answered_at"
    return dict(joined.json())


def _leave(call: Call, evidence: EvidenceLog) -> dict[str, Any]:
    _join(call, evidence)
    bob_left = call.act(call.bob, "leave")
    assert bob_left.status_code == 200, f"leave answered {bob_left.status_code}"
    evidence.note("after bob left", str(call.statuses(bob_left.json())))
    assert bob_left.json()["state"] == "active", "the call ended while alice was still in it"
    last = call.act(call.alice, "leave")
    assert last.status_code == 200, f"the last leave answered {last.status_code}"
    return dict(last.json())


def _end(call: Call, evidence: EvidenceLog) -> dict[str, Any]:
    _join(call, evidence)
    ended = call.act(call.alice, "end")
    assert ended.status_code == 200, f"end answered {ended.status_code}"
    rejoin = call.act(call.carol, "join")
    evidence.http("joining an ended call", rejoin)
    assert rejoin.status_code == 409, f"joining an ended call answered {rejoin.status_code}"
    assert ended.json()["ended_at"], "an ended call has no ended_at"
    return dict(ended.json())


#: step → (what runs it, the call after it: state, statuses, end reason).
STEPS = {
    "create": (_create, "ringing", {"alice": "joined", "bob": "invited", "carol": "invited"}, None),
    "join": (_join, "active", {"alice": "joined", "bob": "joined", "carol": "invited"}, None),
    "leave": (_leave, "ended", {"alice": "left", "bob": "left", "carol": "invited"}, "completed"),
    "end": (_end, "ended", {"alice": "left", "bob": "left", "carol": "invited"}, "ended"),
}


def judge_step(call: Call, step: str, evidence: EvidenceLog) -> None:
    """Run `step` on the placed call; the call the API answers (and then shows to another
    participant) is in the state the contract says."""
    run, state, statuses, reason = STEPS[step]
    answered = run(call, evidence)
    shown = call.state(call.carol)
    assert shown.status_code == 200, f"a participant reading the call got {shown.status_code}"
    for label, seen in (("answered", answered), ("read back", shown.json())):
        got = (seen["state"], call.statuses(seen), seen["end_reason"])
        evidence.note(f"call {label} (state, statuses, end reason)", str(got))
        assert got == (state, statuses, reason), f"{step}: the call {label} is {got}"


def judge_turn_credentials(api: ApiClient, secret: str, evidence: EvidenceLog) -> None:
    """REST credentials as coturn checks them: `<expiry>:<user>` with the expiry `ttl`
    seconds ahead, the password HMAC-SHA1 of the username under the shared secret; 401
    without a session."""
    session = api.new_session()
    path = "/api/v1/calls/turn-credentials"
    answer = api.http.get(path, headers=session.headers)
    assert answer.status_code == 200, f"turn-credentials answered {answer.status_code}"
    body = answer.json()
    expiry, _, user = body["username"].partition(":")
    ahead = int(expiry) - time.time()
    evidence.number("username expiry - now", ahead, "s")
    evidence.number("ttl", body["ttl"], "s")
    assert user == session.user_id, f"the username names {user}, not the caller"
    assert abs(ahead - body["ttl"]) <= CLOCK_SLACK_S, (
        f"expiry {ahead:.0f}s ahead, ttl {body['ttl']}"
    )
    digest = hmac.new(secret.encode(), body["username"].encode(), hashlib.sha1).digest()
    assert body["credential"] == base64.b64encode(digest).decode(), "not HMAC-SHA1 of the secret"
    assert all(u.startswith(("turn:", "turns:")) for u in body["urls"]), body["urls"]
    assert api.http.get(path).status_code == 401, "TURN credentials without a session"
