"""A model that broke, but whose sequence Hypothesis could not replay the same way (the
system answered otherwise the second time), is a failed check with what broke, never an
error of the harness."""

from __future__ import annotations

from typing import Any, cast

import httpx
import pytest
from hypothesis import strategies as st
from hypothesis.stateful import initialize, precondition, rule

from harness.checks.library import stateful
from harness.errors import Inconclusive

BUDGET = stateful.StatefulBudget(examples=20, steps=5, shrink_s=5.0, wall_s=60.0, enough=1)


def _context() -> stateful.Context:
    none = cast(Any, None)
    return stateful.Context(none, none, {}, BUDGET)


def changeable(broken: str | None) -> type[stateful.ModelMachine]:
    """A machine whose draws depend on how often the system was called (a replay draws
    differently); on the fourth step the invariant `broken` fails, or, when None, the
    harness itself raises."""

    class Changeable(stateful.ModelMachine):
        calls = 0

        @rule(data=st.data())
        def step(self, data: st.DataObject) -> None:
            Changeable.calls += 1
            if Changeable.calls % 2:
                data.draw(st.integers(0, 10))
            if broken is not None:
                self.expect(Changeable.calls < 4, broken)
            elif Changeable.calls == 4:
                raise RuntimeError("a harness bug, not an invariant")

    return Changeable


BROKEN_INVARIANT = "a message acknowledged is missing from history"


def test_a_broken_model_that_replays_differently_is_a_failure_with_what_broke() -> None:
    run = stateful.run_machine(changeable(BROKEN_INVARIANT), _context(), seed=1)
    assert run.failure is not None
    assert BROKEN_INVARIANT in run.failure


def test_without_a_broken_invariant_an_unreplayable_run_is_unknown() -> None:
    context = _context()
    with pytest.raises(Inconclusive):
        stateful.run_machine(changeable(None), context, seed=1)


def acknowledging(guarded: bool) -> type[stateful.ModelMachine]:
    """A machine whose model keeps what the system acknowledged (one call in three), with
    the rule that acts on it guarded by a precondition or returning when there is none."""

    class Acknowledging(stateful.ModelMachine):
        calls = 0

        def __init__(self) -> None:
            super().__init__()
            self.kept: list[int] = []

        @rule()
        def create(self) -> None:
            Acknowledging.calls += 1
            if Acknowledging.calls % 3 == 0:
                self.kept.append(Acknowledging.calls)

        @precondition(lambda self: self.kept or not guarded)
        @rule(pick=st.integers(0, 9))
        def use(self, pick: int) -> None:
            if self.kept:
                self.kept.pop(pick % len(self.kept))

    return Acknowledging


def test_a_precondition_on_what_was_acknowledged_makes_the_run_unreplayable() -> None:
    with pytest.raises(Inconclusive, match="FlakyStrategyDefinition"):
        stateful.run_machine(acknowledging(guarded=True), _context(), seed=1)


def test_a_rule_that_returns_when_there_is_nothing_replays_the_same_draws() -> None:
    run = stateful.run_machine(acknowledging(guarded=False), _context(), seed=1)
    assert run.failure is None


def failing_client_once() -> type[stateful.ModelMachine]:
    """A machine whose client asserts in its set-up once (the system answered 502 one
    time), then never again: Hypothesis cannot replay the failing run."""

    class FailingOnce(stateful.ModelMachine):
        runs = 0

        @initialize()
        def set_up(self) -> None:
            FailingOnce.runs += 1
            self.checked("set-up", lambda: _create_conversation(FailingOnce.runs == 3))

        @rule(pick=st.integers(0, 9))
        def step(self, pick: int) -> None:
            pass

    return FailingOnce


def _create_conversation(fails: bool) -> str:
    assert not fails, "create conversation: 502"
    return "id"


def test_a_client_assertion_in_a_run_is_the_model_s_failure_even_unreplayed() -> None:
    run = stateful.run_machine(failing_client_once(), _context(), seed=1)
    assert run.failure is not None
    assert "set-up: AssertionError: create conversation: 502" in run.failure


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def slow(clock: FakeClock, seconds_per_step: float) -> type[stateful.ModelMachine]:
    """A machine that holds whose every step takes `seconds_per_step` of `clock`."""

    class Slow(stateful.ModelMachine):
        @initialize()
        def set_up(self) -> None:
            stateful.begin_run(self.context)

        @rule(pick=st.integers(0, 9))
        def step(self, pick: int) -> None:
            self.write(None, lambda: _answered(clock, seconds_per_step))

    return Slow


def _answered(clock: FakeClock, seconds: float) -> httpx.Response:
    clock.now += seconds
    return httpx.Response(200)


def _timed_context(clock: FakeClock, wall_s: float, enough: int) -> stateful.Context:
    budget = stateful.StatefulBudget(
        examples=20, steps=5, shrink_s=5.0, wall_s=wall_s, enough=enough
    )
    none = cast(Any, None)
    return stateful.Context(none, none, {}, budget, clock=clock)


def test_the_campaign_stops_at_its_wall_clock() -> None:
    clock = FakeClock()
    context = _timed_context(clock, wall_s=30.0, enough=2)
    run = stateful.run_machine(slow(clock, 2.0), context, seed=1)
    assert run.failure is None
    assert context.cut and 2 <= context.runs < 20
    assert clock.now <= 30.0 + 2.0  # the write under way when the clock ran out ends it
    stateful.require_enough(context)


def test_too_few_sequences_in_the_wall_clock_is_unknown() -> None:
    clock = FakeClock()
    context = _timed_context(clock, wall_s=30.0, enough=10)
    stateful.run_machine(slow(clock, 10.0), context, seed=1)
    with pytest.raises(Inconclusive, match="sequences ran"):
        stateful.require_enough(context)


def test_no_time_at_all_is_unknown() -> None:
    clock = FakeClock()
    context = _timed_context(clock, wall_s=-1.0, enough=1)
    run = stateful.run_machine(slow(clock, 1.0), context, seed=1)
    assert run.failure is None and context.runs == 0
    with pytest.raises(Inconclusive):
        stateful.require_enough(context)
