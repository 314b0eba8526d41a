"""Hypothesis: when Redis stops answering, auth and chat answer at once, from memory.

Steady state: a user logs in, calls /me and sends a message to a buddy; auth's
redis_degraded_mode is 0.
Fault: the Redis link goes silent, one direction at a time (a timeout toxic that never
closes): commands that never reach Redis, then commands Redis runs whose answers never
come back. Nothing is refused or reset, as on a half-dead network path or a frozen
Redis: a client learns of it only from its own timeouts. A cut (DEG-001) is refused at
once, so a command with no timeout of its own passes it; here it waits for the
request's whole budget and the caller gets a 504.
Expectations: in each window every call answers as in the steady state within
ANSWER_WITHIN_S (half a backend's budget); once Redis answers again, auth's gauge is 0,
a token logged out in the window is still refused, and every message acknowledged in
the window is in the conversation once.
Proof: auth's own health checks failed in each window; without that, unknown.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import httpx

from harness import (
    BACKEND_BUDGET_S,
    ApiClient,
    Chat,
    EvidenceLog,
    FaultInjector,
    Platform,
    Session,
    check,
    eventually,
    metric_sample,
    metric_watch,
    require_components,
)

#: Each call in a window must answer within this, seconds: far from a backend's budget,
#: which is what a Redis command without a timeout of its own waits for.
ANSWER_WITHIN_S = BACKEND_BUDGET_S / 2
#: How long each direction stays silent, seconds, and the rounds of calls at most.
SILENT_S = 5.0
MAX_ROUNDS = 20
RECOVERED_WITHIN_S = 5.0
Direction = Literal["upstream", "downstream"]
#: Commands that never reach Redis, then answers that never come back.
DIRECTIONS: tuple[Direction, ...] = ("upstream", "downstream")
HEALTH_CHECKS_FAILED = "auth Redis health checks failed"
EXPECTED = {"login": 200, "me": 200, "send": 201, "logout": 204, "me after logout": 401}

Key = tuple[str, str]


@dataclass
class Calls:
    """The calls made while Redis was silent, by (direction, step)."""

    statuses: defaultdict[Key, list[int]] = field(default_factory=lambda: defaultdict(list))
    seconds: defaultdict[Key, list[float]] = field(default_factory=lambda: defaultdict(list))
    #: Message ids answered 201, and access tokens whose logout answered 204.
    acknowledged: list[str] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)

    def timed(self, key: Key, make: Callable[[], httpx.Response]) -> httpx.Response:
        started = time.monotonic()
        answer = make()
        self.statuses[key].append(answer.status_code)
        self.seconds[key].append(time.monotonic() - started)
        return answer

    def wrong(self) -> list[str]:
        return [
            f"{direction} {step}: {dict(Counter(statuses))}"
            for (direction, step), statuses in self.statuses.items()
            if any(status != EXPECTED[step] for status in statuses)
        ]

    def slow(self) -> list[str]:
        return [
            f"{direction} {step}: {max(seconds):.2f} s"
            for (direction, step), seconds in self.seconds.items()
            if max(seconds) > ANSWER_WITHIN_S
        ]

    def rows(self) -> list[list[object]]:
        return [
            [*key, len(seconds), dict(Counter(self.statuses[key])), round(max(seconds) * 1000)]
            for key, seconds in sorted(self.seconds.items())
        ]


@dataclass(frozen=True)
class Scene:
    api: ApiClient
    user: Session
    conversation: str


def _round(scene: Scene, direction: str, calls: Calls) -> None:
    """Log in, /me, send one message, log out, try the dead token: each call timed."""
    api, user = scene.api, scene.user
    login = calls.timed((direction, "login"), lambda: api.login(user.email))
    if login.status_code != 200:
        return
    access = login.json()["access_token"]
    session = Session(user.user_id, user.email, user.password, access, "")
    calls.timed((direction, "me"), lambda: api.me(access))
    text, msg_id = f"while Redis is silent ({direction})", uuid.uuid4().hex
    sent = calls.timed(
        (direction, "send"), lambda: Chat(api, session).send(scene.conversation, text, msg_id)
    )
    if sent.status_code == 201:
        calls.acknowledged.append(sent.json()["message_id"])
    if calls.timed((direction, "logout"), lambda: api.logout(session)).status_code == 204:
        calls.revoked.append(access)
    calls.timed((direction, "me after logout"), lambda: api.me(access))


def _silent(
    faults: FaultInjector, auth: str, scene: Scene, direction: Direction, calls: Calls
) -> None:
    """Rounds of calls while `direction` of the Redis link is silent, then recovery."""
    with faults.half_open("redis", stream=direction) as window:
        window.require(HEALTH_CHECKS_FAILED)
        failed = metric_watch(auth, "redis_health_check_total", service="auth", result="failure")
        ends = time.monotonic() + SILENT_S
        for _ in range(MAX_ROUNDS):
            if time.monotonic() >= ends:
                break
            _round(scene, direction, calls)
        window.observe(HEALTH_CHECKS_FAILED, failed())
    eventually(
        lambda: metric_sample(auth, "redis_degraded_mode", service="auth") == 0,
        RECOVERED_WITHIN_S,
        what=f"auth out of degraded mode after the {direction} silence",
    )


@check(
    "DEG-011",
    "Auth and chat answer within half their budget when Redis stops answering",
    category="degraded",
    severity="HIGH",
    finding="HIGH-1: auth fails when Redis is down; every Redis call needs its own timeout",
    fix="Bound every Redis command and health check by a timeout of its own, well below the "
    "request budget; fall back to memory when it passes.",
    impact="A Redis that hangs instead of refusing (a frozen node, a half-dead network path) "
    "holds every request until its budget: sign-in and chat time out, not degrade.",
    profile="full",
)
def test_services_answer_when_redis_is_silent(
    stack: Platform, faults: FaultInjector, api: ApiClient, evidence: EvidenceLog
) -> None:
    require_components(stack.names(), "auth", "chat")
    auth = stack.endpoint("auth").url or ""
    alice, bob = api.new_session(), api.new_session()
    scene = Scene(api, alice, Chat(api, alice).conversation(bob))
    calls = Calls()
    for direction in DIRECTIONS:
        _silent(faults, auth, scene, direction, calls)
    faults.require_proof(evidence)
    evidence.table("calls while Redis was silent", ["direction", "step", "calls", "statuses",
                   "slowest ms"], calls.rows())  # fmt: skip
    assert not calls.wrong(), f"calls answered otherwise than with Redis: {calls.wrong()}"
    assert not calls.slow(), f"calls slower than {ANSWER_WITHIN_S} s: {calls.slow()}"
    _after_recovery(api, alice, scene.conversation, calls, evidence)


def _after_recovery(
    api: ApiClient, alice: Session, conversation: str, calls: Calls, evidence: EvidenceLog
) -> None:
    """Tokens logged out in the windows stay refused; acknowledged messages are there once."""
    accepted = [token for token in calls.revoked if api.me(token).status_code != 401]
    ids = Counter(message["message_id"] for message in Chat(api, alice).history(conversation))
    missing = [m for m in calls.acknowledged if ids[m] == 0]
    doubled = [m for m in calls.acknowledged if ids[m] > 1]
    evidence.number("tokens logged out while Redis was silent", len(calls.revoked))
    evidence.number("messages acknowledged while Redis was silent", len(calls.acknowledged))
    assert not accepted, f"{len(accepted)} tokens logged out in the silence accepted again"
    assert not missing and not doubled, (
        f"acknowledged messages missing {missing}, doubled {doubled}"
    )
