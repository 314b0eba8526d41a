"""Hypothesis: whatever a client does, in whatever order, through whatever fault, the
system holds what a model of it holds.

Steady state: three users; a fresh conversation (or owner) per sequence.
Chaos: Hypothesis state machines (harness/checks/library/stateful*.py) of the chat
(send, re-send with the same key, react and un-react, search), polls (create, vote,
change vote, close, by creator or not) and files (upload, upload whose bytes never
came, download, delete). Every operation may run through a fault — Redis, S3 or
PostgreSQL cut, slowed or resetting connections, a chat instance killed — and an
operation whose outcome the fault hid is retried with the same key once it is gone.
Expectations: after every step, history, search, tallies, file lists and quota
equal the model. A failure is shrunk to the shortest sequence that still fails,
shown in the evidence step by step.
Profile: full (each takes tens of seconds of faults and retries; the smoke run stays
within its deadline); `readiness selftest` runs them at their smoke budget.
Proof: at least one fault window touched traffic (Toxiproxy's counters, requests
that failed under it), else the check is unknown: a model that held without a
fault proves the operations, not the chaos. Windows are the machines' own (many
per run, some on operations that touch no proxy), so an inert one is noted, not
fatal.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness import (
    ApiClient,
    EvidenceLog,
    FaultInjector,
    HarnessError,
    Inconclusive,
    Platform,
    check,
    require_components,
)
from harness.checks import stateful, stateful_chat, stateful_files, stateful_polls

PEOPLE = ("alice", "bob", "carol")


@pytest.fixture
def context(stack: Platform, api: ApiClient, profile: str) -> Iterator[stateful.Context]:
    injector = FaultInjector(stack)
    users = {name: api.new_session() for name in PEOPLE}
    try:
        yield stateful.Context(api, injector, users, stateful.STATEFUL_BUDGETS[profile])
    finally:
        problems = injector.restore()
        if problems:
            raise HarnessError(f"could not undo faults: {'; '.join(problems)}")


def _model_holds(
    machine: type[stateful.ModelMachine], context: stateful.Context, evidence: EvidenceLog
) -> None:
    run = stateful.run_machine(machine, context, stateful.STATEFUL_SEED)
    _record(run, context, evidence)
    assert run.failure is None, (
        f"{run.machine}: {run.failure} (shortest failing sequence: {len(run.steps)} lines)"
    )
    stateful.require_enough(context)
    if not any(w.proven for w in context.injector.windows):
        raise Inconclusive("no fault window touched traffic: the model held, the chaos is unproven")


def _record(run: stateful.MachineRun, context: stateful.Context, evidence: EvidenceLog) -> None:
    budget = context.budget
    evidence.note(
        "campaign",
        f"seed {stateful.STATEFUL_SEED}: {budget.examples} sequences of at most "
        f"{budget.steps} steps, {budget.shrink_s:g} s of shrinking, {budget.wall_s:g} s in all",
    )
    evidence.number("sequences run (shrinking included)", context.runs)
    if context.cut:
        evidence.note(
            "wall clock", f"the campaign's {budget.wall_s:g} s ran out: sequences stopped"
        )
    evidence.number("operations sent", context.steps)
    evidence.number("operations retried after their fault", context.retried)
    evidence.number("time", run.seconds, "s")
    evidence.table(
        "outcomes by fault",
        ("fault", "acknowledged", "refused", "unknown"),
        stateful.summary(context),
    )
    windows = context.injector.windows
    evidence.number("fault windows", len(windows))
    evidence.number("fault windows proven", sum(w.proven for w in windows))
    if run.failure is not None:
        evidence.note("failure, after shrinking", run.failure)
        evidence.table(
            "shortest failing sequence (Hypothesis' shrunk example)",
            ("step", "call"),
            [[str(n), line] for n, line in enumerate(run.steps)],
        )


@check(
    "ROB-007",
    "Chat under chaos: history, reactions and search equal a model after every step",
    category="robustness",
    severity="HIGH",
    profile="full",
    finding="Hostile clients: stateful chaos of the chat (send, re-send, react, search) "
    "interleaved with Redis, PostgreSQL and process faults",
    fix="Make every write idempotent on its key and atomic with what it acknowledges; the "
    "evidence holds the shortest sequence of steps that breaks the model.",
    impact="Messages or reactions that users saw acknowledged go missing, appear twice or "
    "differ between history and search after a fault or a retry.",
)
def test_chat_holds_its_model(
    stack: Platform, context: stateful.Context, evidence: EvidenceLog
) -> None:
    require_components(stack.names(), "auth", "chat")
    _model_holds(stateful_chat.ChatMachine, context, evidence)


@check(
    "ROB-008",
    "Polls under chaos: tallies, voters and closing equal a model after every step",
    category="robustness",
    severity="HIGH",
    profile="full",
    finding="Hostile clients: stateful chaos of polls (create, vote, change vote, close) "
    "interleaved with Redis and PostgreSQL faults",
    fix="A vote replaces the voter's previous one in one transaction; closing is the "
    "creator's only and final; the evidence holds the shortest failing sequence.",
    impact="Poll results users rely on count votes twice, lose changed votes or accept votes "
    "after the poll closed.",
)
def test_polls_hold_their_model(
    stack: Platform, context: stateful.Context, evidence: EvidenceLog
) -> None:
    require_components(stack.names(), "auth", "chat")
    _model_holds(stateful_polls.PollMachine, context, evidence)


@check(
    "ROB-009",
    "Files under chaos: file list, bytes and quota equal a model after every step",
    category="robustness",
    severity="HIGH",
    profile="full",
    finding="Hostile clients: stateful chaos of files (upload, complete, download, delete, "
    "quota) interleaved with S3, PostgreSQL and Redis faults",
    fix="Complete and delete idempotently, count the quota from what is stored; the "
    "evidence holds the shortest failing sequence.",
    impact="Uploaded files vanish or come back with other bytes, deleted files keep using "
    "quota, or users are refused uploads they have room for.",
)
def test_files_hold_their_model(
    stack: Platform, context: stateful.Context, evidence: EvidenceLog
) -> None:
    require_components(stack.names(), "auth", "storage")
    _model_holds(stateful_files.FileMachine, context, evidence)
