"""Stateful chaos: Hypothesis state machines whose rules interleave faults with operations.

A machine (stateful_chat.py, stateful_polls.py, stateful_files.py) keeps a model of
what the system must hold. Each of its operation rules takes a `fault` argument,
None or one of FAULTS: the fault is injected, the operation sent through it, the
fault removed. An operation is *acknowledged* (2xx: the model changes), *refused*
(4xx: it does not) or *unknown* (5xx, no answer): then the client retries it as a
real one would (the same idempotency key) once the fault is gone, until it is
acknowledged or refused. After every step the invariants compare the model with
what the system answers. A failure is shrunk by Hypothesis to the shortest
sequence of steps that still fails, kept as the lines Hypothesis prints for it.

Runs are seeded (STATEFUL_SEED) and bounded per profile (STATEFUL_BUDGETS): runs,
steps per run, seconds of shrinking once a failure is found, and the wall clock of the
whole campaign (past it no sequence starts; too few sequences run is unknown).
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, TypeVar

import httpx
from hypothesis.stateful import RuleBasedStateMachine

from harness.clients.api import ApiClient, Session
from harness.errors import Inconclusive
from harness.faults.injector import FaultInjector, FaultWindow
from harness.waiting import eventually

T = TypeVar("T")

STATEFUL_SEED = 7_310_009
#: How long a retried operation may take to be acknowledged or refused once its fault
#: is gone (a killed instance restarts meanwhile).
RECOVERY_DEADLINE_S = 30.0
RETRY_INTERVAL_S = 0.25
CALL_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class StatefulBudget:
    #: Sequences Hypothesis runs (before shrinking).
    examples: int
    #: Steps per sequence, at most.
    steps: int
    #: Seconds of shrinking once a failure is found; then the shortest so far is kept.
    shrink_s: float
    #: Seconds the whole campaign may take, sequences and shrinking: past them no new
    #: sequence starts, except the final replay of a failure. Below pytest's timeout of
    #: a check (600 s) with room for that replay, whose steps may each wait
    #: RECOVERY_DEADLINE_S for a restart.
    wall_s: float
    #: Fewer sequences than this finished within wall_s, none failing: too little was
    #: tried to call the model held (unknown).
    enough: int


STATEFUL_BUDGETS = {
    "smoke": StatefulBudget(examples=8, steps=10, shrink_s=90.0, wall_s=240.0, enough=4),
    "full": StatefulBudget(examples=15, steps=25, shrink_s=300.0, wall_s=420.0, enough=8),
}

FaultStarter = Callable[[FaultInjector], contextlib.AbstractContextManager[FaultWindow]]
#: What a rule may break while its operation runs.
FAULTS: dict[str, FaultStarter] = {
    "redis cut": lambda f: f.cut("redis"),
    "redis slow": lambda f: f.latency("redis", ms=300),
    "redis flaky": lambda f: f.flaky("redis", toxicity=0.5),
    "postgres cut": lambda f: f.cut("postgres"),
    "postgres slow": lambda f: f.latency("postgres", ms=300),
    "postgres flaky": lambda f: f.flaky("postgres", toxicity=0.3),
    "s3 cut": lambda f: f.cut("s3"),
    "s3 slow": lambda f: f.latency("s3", ms=300),
    "s3 flaky": lambda f: f.flaky("s3", toxicity=0.5),
    "chat-1 killed": lambda f: f.killed("chat-1"),
}


class Outcome(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    REFUSED = "refused"
    UNKNOWN = "unknown"


def outcome_of(answer: httpx.Response | None) -> Outcome:
    if answer is None or answer.status_code >= 500:
        return Outcome.UNKNOWN
    return Outcome.ACKNOWLEDGED if answer.is_success else Outcome.REFUSED


@dataclass
class Context:
    """What every run of a machine shares: the clients, users, the fault injector, and
    the tally the check's evidence is made of."""

    api: ApiClient
    injector: FaultInjector
    users: dict[str, Session]
    budget: StatefulBudget
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    retried: int = 0
    runs: int = 0
    steps: int = 0
    first_failure_at: float | None = None
    #: What broke the model first (kept: a replay that goes differently loses it).
    first_failure: str | None = None
    started_at: float | None = None
    #: Sequences not started because the campaign's wall clock had run out.
    cut: int = 0
    clock: Callable[[], float] = time.monotonic

    def call(self, send: Callable[[], httpx.Response]) -> httpx.Response | None:
        try:
            return send()
        except httpx.HTTPError:
            return None

    @contextlib.contextmanager
    def fault(self, name: str | None) -> Iterator[FaultWindow | None]:
        if name is None:
            yield None
            return
        with FAULTS[name](self.injector) as window:
            yield window

    def wall_spent(self) -> bool:
        started = self.started_at
        return started is not None and self.clock() - started > self.budget.wall_s

    def shrinking_spent(self) -> bool:
        """The shrinking budget or the campaign's wall clock is spent, once a failure
        was found."""
        failed = self.first_failure_at
        if failed is None:
            return False
        return self.clock() - failed > self.budget.shrink_s or self.wall_spent()


class OutOfTime(Exception):  # noqa: N818 (a stop, not an error)
    """The campaign's wall clock ran out with nothing failed: no sequence starts, and
    the one under way sends nothing more (one took 136 s on compose).

    Raised in every run and write past the clock (a rejection would only make Hypothesis draw
    more). Hypothesis then ends with it, or, when the stop cut short a sequence it had
    drawn before, with Flaky: with nothing failed, either is the clock's stop."""


class ModelMachine(RuleBasedStateMachine):
    """Base of the machines: writes through faults, retried as a client would.

    The machines have no preconditions. What a run holds depends on what the system
    answered (a poll whose creation a fault hid is not in the model), so a precondition
    can let other rules be drawn when Hypothesis runs the same sequence again; it then
    gives up with FlakyStrategyDefinition and the check proves nothing. A rule with
    nothing to act on returns instead: the draws stay the same whatever was answered.
    """

    context: ClassVar[Context]

    def write(
        self, fault: str | None, send: Callable[[], httpx.Response], retry: bool = True
    ) -> httpx.Response | None:
        """Send under the fault; an unknown outcome is retried (the same request: it
        must be idempotent) once the fault is gone, until acknowledged or refused."""
        context = self.context
        stop_past_the_wall_clock(context)  # a sequence under way stops too
        context.steps += 1
        with context.fault(fault) as window:
            answer = context.call(send)
            if window is not None and outcome_of(answer) is Outcome.UNKNOWN:
                window.observe("requests that failed under the fault")
        context.outcomes[(fault or "none", outcome_of(answer).value)] += 1
        if outcome_of(answer) is not Outcome.UNKNOWN or not retry:
            return answer
        context.retried += 1
        return eventually(
            lambda: _settled(context.call(send)),
            RECOVERY_DEADLINE_S,
            RETRY_INTERVAL_S,
            what="a retried request acknowledged or refused after its fault",
        )

    def read(self, send: Callable[[], httpx.Response]) -> httpx.Response:
        """A read for an invariant: no fault is active between steps, so it must work."""
        answer = send()
        self.expect(
            answer.is_success,
            f"{answer.request.method} {answer.request.url.path}: "
            f"{answer.status_code} {answer.text[:200]}",
        )
        return answer

    def expect(self, holds: bool, message: str) -> None:
        """An invariant of the model: on failure shrinking starts its clock."""
        if not holds:
            note_failure(self.context, message)
            raise AssertionError(message)

    def checked(self, what: str, call: Callable[[], T]) -> T:
        """A client call outside any fault (a run's set-up, an invariant's read) whose
        own assertion fails the model like `expect`: recorded, so a run that Hypothesis
        then cannot replay still reports what broke instead of proving nothing."""
        try:
            return call()
        except (AssertionError, httpx.HTTPError) as exc:
            message = f"{what}: {type(exc).__name__}: {exc}"
            note_failure(self.context, message)
            raise AssertionError(message) from exc


def _settled(answer: httpx.Response | None) -> httpx.Response | None:
    return answer if outcome_of(answer) is not Outcome.UNKNOWN else None


@dataclass
class MachineRun:
    machine: str
    #: The failure Hypothesis kept, shrunk; None when every run held.
    failure: str | None = None
    #: The shortest failing sequence, one step a line (Hypothesis' own print of it).
    steps: list[str] = field(default_factory=list)
    seconds: float = 0.0


def run_machine(machine: type[ModelMachine], context: Context, seed: int) -> MachineRun:
    """Run the machine under its budget; what failed, shrunk, if anything did."""
    from hypothesis import HealthCheck, Phase, Verbosity, settings
    from hypothesis import seed as with_seed
    from hypothesis.errors import Flaky
    from hypothesis.stateful import run_state_machine_as_test

    machine.context = context
    budget = context.budget
    config = settings(
        max_examples=budget.examples,
        stateful_step_count=budget.steps,
        deadline=None,
        database=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        # normal: Hypothesis attaches the shrunk sequence's steps to the failure as notes.
        verbosity=Verbosity.normal,
        print_blob=False,
        report_multiple_bugs=False,
    )
    context.started_at = started = context.clock()
    result = MachineRun(machine.__name__)
    try:
        run_state_machine_as_test(with_seed(seed)(machine), settings=config)
    except OutOfTime:
        pass
    except (AssertionError, httpx.HTTPError, TimeoutError) as exc:
        result.failure = f"{type(exc).__name__}: {exc}"[:600]
        lines = [line for note in getattr(exc, "__notes__", []) for line in note.splitlines()]
        result.steps = [line.strip() for line in lines if line.strip().startswith("state")]
    except Flaky as exc:
        if not (context.cut and context.first_failure is None):
            result.failure = _unreplayed(context, exc)
    result.seconds = context.clock() - started
    return result


def require_enough(context: Context) -> None:
    """Unknown when the wall clock cut the campaign before `enough` sequences ran."""
    budget = context.budget
    if context.cut and context.runs < budget.enough:
        raise Inconclusive(
            f"{context.runs} of {budget.examples} sequences ran in the campaign's "
            f"{budget.wall_s:g} s (at least {budget.enough} are needed to call the model held)"
        )


def _unreplayed(context: Context, exc: BaseException) -> str:
    """A failure whose replay went differently (the system answered otherwise the second
    time, so Hypothesis drew other steps): the model did break, and that is the finding;
    it could not be shrunk. Without a recorded failure there is nothing to judge."""
    if context.first_failure is None:
        raise Inconclusive(
            f"Hypothesis could not replay a sequence ({type(exc).__name__}) and no "
            "invariant had failed: the run proves nothing"
        ) from exc
    return (
        f"AssertionError: {context.first_failure} (seen once; replaying the sequence "
        f"went differently, {type(exc).__name__}, so it is not shrunk)"
    )[:600]


def note_failure(context: Context, message: str) -> None:
    """Call when an invariant or a rule fails: shrinking starts its clock."""
    if context.first_failure_at is None:
        context.first_failure_at = context.clock()
        context.first_failure = message


def stop_past_the_wall_clock(context: Context) -> None:
    """OutOfTime once the campaign's wall clock is spent with nothing failed."""
    if context.first_failure_at is None and context.wall_spent():
        context.cut += 1
        raise OutOfTime


def begin_run(context: Context) -> None:
    """Call at the start of every run: past the shrinking budget or the wall clock, runs
    are skipped (Hypothesis keeps the shortest failure found so far), except its final
    replay."""
    from hypothesis import reject
    from hypothesis.control import current_build_context

    stop_past_the_wall_clock(context)
    if context.shrinking_spent() and not current_build_context().is_final:
        reject()
    context.runs += 1


def summary(context: Context) -> list[list[Any]]:
    """Rows (fault, acknowledged, refused, unknown) for the evidence."""
    faults = sorted({fault for fault, _ in context.outcomes})
    return [[fault, *(context.outcomes[(fault, o.value)] for o in Outcome)] for fault in faults]
