"""A model that broke, but whose sequence Hypothesis could not replay the same way (the
system answered otherwise the second time), is a failed check with what broke, never an
error of the harness."""

from __future__ import annotations

from typing import Any, cast

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import rule

from harness.checks.library import stateful
from harness.errors import Inconclusive

BUDGET = stateful.StatefulBudget(examples=20, steps=5, shrink_s=5.0)


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
