"""Hypothesis: under every fault, nothing acknowledged is lost and nothing is applied twice.

Steady state: a conversation of four users writing concurrent duplicates of
every kind (messages, votes, reactions, uploads, logouts, call transitions).
Faults, one per check, while they write: Redis cut; PostgreSQL cut; reset_peer
and timeout toxics on the PostgreSQL link; S3 flaky then cut; a chat instance
killed. Clients retry indeterminate writes as real clients do (the same
client_msg_id, ballot, reaction, file, token).
Expectations, on the recorded history: every acknowledged write is read back
once, a refused one is absent, an unknown one is there at most once; every
revoked token is refused everywhere. The fault must have touched the writes
(attempts that failed or were unknown while it held, or the server's own
view): otherwise the check is unknown, never passed. The S3 faults need
storage's own view (its S3 attempts failed or refused while the fault held):
the clients' PUTs and the backups share the proxy and prove nothing about it.

The smoke profile runs short windows with a lean mix of writes; the full
profile runs every write kind under every fault.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from harness import (
    ApiClient,
    EvidenceLog,
    FaultInjector,
    FaultWindow,
    Platform,
    check,
    eventually,
    metric_sample,
    metric_watch,
    require_components,
)
from harness.checks import (
    History,
    storage_view,
    workloads,
    workloads_chat,
    workloads_services,
    writes,
)

#: Rounds each workload may write at most (each is a handful of concurrent requests).
MAX_ROUNDS = 12
#: Longest a fault is held waiting for enough writes to meet it, seconds.
HOLD_S = {"smoke": 8.0, "full": 15.0}
#: Attempts that failed or were unknown that end a window early.
ENOUGH_TROUBLE = {"smoke": 4, "full": 12}
#: Storage's own view of an S3 cut through its API: completes it answered 503.
COMPLETES_UNAVAILABLE = "completes storage answered 503 (its S3 calls failed)"
#: Writes a chat instance serves in the experiment before it is killed (about the first
#: round of every workload), how long they may take to reach it, and how often that is
#: looked at, seconds: the kill lands among writes just acknowledged.
SERVED_BEFORE_KILL = 12
SERVING_DEADLINE_S = 15.0
FAST_POLL_S = 0.05
EVERY_KIND = ("messages", "ballots", "reactions", "uploads", "revocations", "calls")


def _workloads(kinds: tuple[str, ...]) -> list[workloads.Workload]:
    made: dict[str, Callable[[], workloads.Workload]] = {
        "messages": workloads_chat.Messages,
        "ballots": workloads_chat.Ballots,
        "reactions": workloads_chat.Reactions,
        "uploads": workloads_services.Uploads,
        "revocations": lambda: workloads_services.Revocations(MAX_ROUNDS),
        "calls": workloads_services.Calls,
    }
    return [made[kind]() for kind in kinds]


@pytest.fixture
def profile(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--readiness-profile"))


@pytest.fixture
def team(stack: Platform, api: ApiClient, gateway_url: str, history: History) -> workloads.Team:
    require_components(stack.names(), "auth", "chat", "video", "storage")
    return workloads.new_team(
        api, gateway_url, writes.Recorder(history), workloads_services.token_services(stack)
    )


def _experiment(
    team: workloads.Team,
    jobs: list[workloads.Workload],
    fault: contextlib.AbstractContextManager[Any],
    profile: str,
    touched: Callable[[int], bool] | None = None,
) -> int:
    """Prepare, write through the fault; the attempts that failed or were unknown in it."""
    for workload in jobs:
        workload.prepare(team)
    enough = ENOUGH_TROUBLE[profile]
    return workloads.through_fault(
        team, jobs, fault, touched or (lambda n: n >= enough), HOLD_S[profile], MAX_ROUNDS
    )


def _conclude(
    team: workloads.Team,
    jobs: list[workloads.Workload],
    faults: FaultInjector,
    evidence: EvidenceLog,
) -> None:
    """Unknown if a fault touched nothing; else the invariants decide."""
    faults.require_proof(evidence)
    workloads.judge(team, jobs, evidence)


def _invariant(check_id: str, title: str, profile: str = "smoke") -> Callable[..., object]:
    return check(
        check_id,
        title,
        category="degraded",
        severity="BLOCKER",
        finding="Degraded mode must not lose or duplicate acknowledged writes",
        fix="Acknowledge only after the commit; make every write idempotent on its key; "
        "answer 503 (never 2xx) when the outcome is unknown.",
        profile=profile,
        impact="During an incident the system acknowledges writes it then loses or doubles: "
        "data loss that no error message reveals.",
    )


def _degraded(stack: Platform) -> Callable[[], bool]:
    chats = [stack.endpoint(n).url or "" for n in stack.names() if n.startswith("chat")]
    return lambda: all(metric_sample(url, "redis_degraded_mode") == 1 for url in chats)


@_invariant("INV-007", "Writes under a Redis cut: none lost, none doubled, revocations hold")
def test_writes_under_redis_cut(
    stack: Platform,
    faults: FaultInjector,
    team: workloads.Team,
    profile: str,
    evidence: EvidenceLog,
) -> None:
    kinds = ("messages", "ballots", "revocations") if profile == "smoke" else EVERY_KIND
    jobs = _workloads(kinds)
    degraded = _degraded(stack)
    seen: list[bool] = []

    def touched(_trouble: int) -> bool:
        seen.append(degraded())  # the server's view: every chat instance fell back
        return sum(seen) >= 2

    _experiment(team, jobs, faults.cut("redis"), profile, touched)
    # The window is made as the fault is entered, inside the experiment: the newest one.
    faults.windows[-1].observe("polls that saw every chat instance degraded", sum(seen))
    _conclude(team, jobs, faults, evidence)


def _postgres_fault(
    faults: FaultInjector,
    team: workloads.Team,
    profile: str,
    evidence: EvidenceLog,
    make: str,
    **kw: Any,
) -> None:
    kinds = ("messages", "ballots") if profile == "smoke" else EVERY_KIND
    jobs = _workloads(kinds)
    trouble = _experiment(team, jobs, getattr(faults, make)("postgres", **kw), profile)
    faults.windows[-1].observe("writes failed or unknown", trouble)
    _conclude(team, jobs, faults, evidence)


@_invariant("INV-008", "Writes under a PostgreSQL cut: refused or unknown, never lost or doubled")
def test_writes_under_postgres_cut(
    faults: FaultInjector, team: workloads.Team, profile: str, evidence: EvidenceLog
) -> None:
    _postgres_fault(faults, team, profile, evidence, "cut")


@_invariant(
    "INV-009", "Writes with PostgreSQL connections reset (reset_peer): none lost or doubled", "full"
)
def test_writes_with_postgres_resets(
    faults: FaultInjector, team: workloads.Team, profile: str, evidence: EvidenceLog
) -> None:
    _postgres_fault(faults, team, profile, evidence, "flaky", toxicity=0.3)


@_invariant(
    "INV-010", "Writes with a PostgreSQL link that stops answering (timeout): none lost", "full"
)
def test_writes_with_postgres_timeouts(
    faults: FaultInjector, team: workloads.Team, profile: str, evidence: EvidenceLog
) -> None:
    _postgres_fault(faults, team, profile, evidence, "half_open")


@_invariant("INV-011", "Uploads with S3 flaky, then cut: files listed once, quota exact", "full")
def test_uploads_under_s3_faults(
    stack: Platform,
    faults: FaultInjector,
    team: workloads.Team,
    profile: str,
    evidence: EvidenceLog,
) -> None:
    storage = stack.endpoint("storage").url or ""
    uploads = workloads_services.Uploads()
    failed = {
        storage_view.ATTEMPTS_FAILED: storage_view.storage_s3_counters(storage)[
            storage_view.ATTEMPTS_FAILED
        ]
    }
    flaky = functools.partial(faults.flaky, "s3", toxicity=0.5)
    _upload_through(team, uploads, faults, flaky, profile, failed)
    # The cut holds until storage's own calls failed (after their retries) or were refused:
    # an outage as storage sees it, not a blip its retries ride out.
    answered = len(uploads.completes_unavailable)
    calls = {
        COMPLETES_UNAVAILABLE: lambda: len(uploads.completes_unavailable) - answered,
        storage_view.CALLS_REFUSED: storage_view.storage_s3_counters(storage)[
            storage_view.CALLS_REFUSED
        ],
    }
    _upload_through(team, uploads, faults, functools.partial(faults.cut, "s3"), profile, calls)
    _conclude(team, [uploads], faults, evidence)


def _upload_through(
    team: workloads.Team,
    uploads: workloads_services.Uploads,
    faults: FaultInjector,
    fault: Callable[[], contextlib.AbstractContextManager[Any]],
    profile: str,
    proofs: dict[str, Callable[[], float]],
) -> None:
    """Upload while the fault holds, until storage's own view shows it (`proofs`, counts
    from before the fault): the clients' PUTs, backups and recordings share the proxy and
    prove nothing about storage."""
    index = len(faults.windows)  # the fault's window, once it is on
    seen: dict[str, float] = {}

    def touched(trouble: int) -> bool:
        if not seen:
            counts = {what: count() for what, count in proofs.items()}
            if any(counts.values()):  # recorded while the fault holds, not after it
                seen.update(counts)
        return bool(seen) and trouble >= ENOUGH_TROUBLE[profile]

    trouble = _experiment(team, [uploads], fault(), profile, touched)
    window = faults.windows[index]
    window.require(*proofs)
    for what, count in seen.items():
        window.observe(what, count)
    window.observe("writes failed or unknown", trouble)


@_invariant("INV-012", "Writes while a chat instance is killed: none lost or doubled", "full")
def test_writes_while_chat_is_killed(
    stack: Platform,
    faults: FaultInjector,
    team: workloads.Team,
    profile: str,
    evidence: EvidenceLog,
) -> None:
    victim = sorted(n for n in stack.names() if n.startswith("chat"))[0]
    jobs = _workloads(("messages", "ballots", "reactions"))
    served = metric_watch(stack.endpoint(victim).url or "", "http_requests_total", method="POST")
    trouble = _experiment(team, jobs, _killed_mid_writes(faults, victim, served), profile)
    faults.windows[-1].observe("writes failed or unknown", trouble)
    _conclude(team, jobs, faults, evidence)


@contextlib.contextmanager
def _killed_mid_writes(
    faults: FaultInjector, victim: str, served: Callable[[], float]
) -> Iterator[FaultWindow]:
    """SIGKILL `victim` once it has served writes of the experiment (`served`: its POSTs
    since before the first): a crash in the middle of the traffic, not of an instance
    that has taken none of it yet and so has nothing acknowledged to lose."""
    eventually(
        lambda: served() >= SERVED_BEFORE_KILL, SERVING_DEADLINE_S, FAST_POLL_S, f"{victim} writes"
    )
    with faults.killed(victim) as window:
        yield window
