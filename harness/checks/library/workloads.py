"""Concurrent duplicate writes of every kind the API acknowledges, for the invariant checks.

A `Team` is a conversation of four users. Each workload (`workloads_chat`,
`workloads_services`) prepares what it needs before any fault, then writes
in rounds; every round sends the same write *from the same user on two
connections at once* and writes of different users in parallel, so each
counter and uniqueness rule meets concurrent duplicates. `read` records the
system's final state in the history and `check` runs the matching checker
of `harness.checks.invariants`.

`through_fault` writes in rounds while a fault holds, until enough writes
failed or were indeterminate to prove the fault touched them (or a
deadline), then one more round after the fault so retries land.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from harness.checks.evidence import EvidenceLog
from harness.checks.invariants import InvariantResult
from harness.checks.library.writes import Recorder
from harness.clients.api import ApiClient, Session
from harness.clients.realtime import Chat
from harness.waiting import eventually

#: Users of a team: the owner and three members (a p2p call's room limit is four).
TEAM_MEMBERS = 3
#: How long a final read may take to succeed once the faults are gone, seconds.
READ_DEADLINE_S = 30.0
#: How long the round after a fault may take (retries of writes left unknown), seconds.
AFTER_FAULT_DEADLINE_S = 60.0
#: How long racers wait for each other at the start line, seconds.
RACE_START_S = 10.0

Send = Callable[[ApiClient, Session], httpx.Response]


@dataclass
class Team:
    gateway_url: str
    owner: Session
    members: list[Session]
    conversation: str
    recorder: Recorder
    #: Service instance name → its own URL (bypassing the gateway), for revocations.
    services: dict[str, str] = field(default_factory=dict)

    @property
    def everyone(self) -> list[Session]:
        return [self.owner, *self.members]

    def client(self) -> ApiClient:
        return ApiClient(self.gateway_url)

    def call(self, session: Session, send: Send) -> Callable[[], httpx.Response]:
        """A function sending one request as `session` on a connection of its own."""

        def one() -> httpx.Response:
            with self.client() as api:
                return send(api, session)

        return one

    def read(self, path: str, session: Session | None = None) -> Any:
        """GET through the gateway until it answers 200 (the stack may still be mending);
        a 404 reads as {} (what is not there)."""
        headers = (session or self.owner).headers

        def get() -> Any:
            with self.client() as api:
                answer = api.http.get(path, headers=headers)
            if answer.status_code == 404:
                return {"absent": True}
            return answer.json() if answer.status_code == 200 else None

        return eventually(get, READ_DEADLINE_S, interval_s=0.3, what=f"GET {path}")


def new_team(
    api: ApiClient, gateway_url: str, recorder: Recorder, services: dict[str, str] | None = None
) -> Team:
    owner = api.new_session()
    members = [api.new_session() for _ in range(TEAM_MEMBERS)]
    conversation = Chat(api, owner).conversation(*members)
    return Team(gateway_url, owner, members, conversation, recorder, services or {})


def at_once(*sends: Callable[[], Any]) -> list[Any]:
    """Run the functions at the same time, one thread (connection) each."""
    with ThreadPoolExecutor(max_workers=len(sends)) as pool:
        return [f.result() for f in [pool.submit(send) for send in sends]]


def race(
    team: Team,
    warm_up: Callable[[ApiClient], Any],
    runners: Sequence[Callable[[ApiClient], Any]],
) -> list[Any]:
    """Each runner on a connection of its own, opened first (`warm_up`), then all released
    together from a start line, so their requests overlap instead of trickling in."""
    clients = [team.client() for _ in runners]
    start = threading.Barrier(len(runners))
    try:
        for api in clients:
            warm_up(api)

        def run(index: int) -> Any:
            start.wait(timeout=RACE_START_S)
            return runners[index](clients[index])

        return at_once(*[lambda i=i: run(i) for i in range(len(runners))])
    finally:
        for api in clients:
            api.close()


class Workload(Protocol):
    name: str

    def prepare(self, team: Team) -> None: ...
    def round(self, team: Team, number: int) -> None: ...
    def read(self, team: Team) -> None: ...
    def check(self, team: Team) -> InvariantResult: ...


def run_rounds(team: Team, workloads: Sequence[Workload], rounds: int) -> None:
    """`rounds` rounds of every workload, the workloads in parallel."""
    at_once(*[lambda w=w: [w.round(team, n) for n in range(rounds)] for w in workloads])


def through_fault(
    team: Team,
    workloads: Sequence[Workload],
    fault: contextlib.AbstractContextManager[Any],
    touched: Callable[[int], bool],
    hold_s: float,
    max_rounds: int,
) -> int:
    """Write while `fault` holds, until `touched(attempts that failed or were unknown
    so far)` or `hold_s`; the number of such attempts while the fault held."""
    stop, lock, done = threading.Event(), threading.Lock(), Counter[str]()

    def loop(workload: Workload) -> None:
        for number in range(max_rounds):
            if stop.is_set():
                return
            workload.round(team, number)
            with lock:
                done[workload.name] += 1

    with ThreadPoolExecutor(max_workers=len(workloads)) as pool:
        running = {w.name: pool.submit(loop, w) for w in workloads}
        try:
            before = team.recorder.trouble
            with fault:
                with contextlib.suppress(TimeoutError):  # too little trouble: proof decides
                    eventually(
                        lambda: (
                            touched(team.recorder.trouble - before)
                            or all(f.done() for f in running.values())
                        ),
                        hold_s,
                        what="writes touched by the fault",
                    )
                during = team.recorder.trouble - before
            with lock:
                marks = dict(done)
            eventually(
                lambda: all(done[n] > marks.get(n, 0) or f.done() for n, f in running.items()),
                AFTER_FAULT_DEADLINE_S,
                what="a round of writes after the fault",
            )
        finally:
            stop.set()
        for future in running.values():
            future.result()
    return during


def judge(team: Team, workloads: Sequence[Workload], evidence: EvidenceLog) -> None:
    """Read the final state, run every workload's checker; AssertionError names violations."""
    for workload in workloads:
        workload.read(team)
    results = [workload.check(team) for workload in workloads]
    for result in results:
        evidence.note(f"invariant: {result.rule}", result.summary())
    history = team.recorder.history
    evidence.note("history", f"histories/{history.name}.jsonl ({len(history.ops)} operations)")
    broken = [result.summary() for result in results if not result.valid]
    assert not broken, "acknowledged writes broken: " + " | ".join(broken)
    silent = [result.rule for result in results if result.acknowledged == 0]
    assert not silent, f"no write acknowledged at all for {silent}"
