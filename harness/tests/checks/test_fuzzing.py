"""The fuzzer and the state machines find what ROB-001/002 and ROB-007..009 guard
against, in small real apps and models, and show it shrunk."""

from __future__ import annotations

from typing import Any, cast

from fastapi import FastAPI, HTTPException
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, rule
from pydantic import BaseModel

from harness.checks.library.fuzzing import FuzzBudget, Fuzzer, Pass, load_targets
from harness.checks.library.stateful import (
    Context,
    ModelMachine,
    StatefulBudget,
    begin_run,
    run_machine,
)
from harness.tests.checks.asgi import served

BUDGET = FuzzBudget(examples=8, shrink_s=10.0, pass_s=60.0)
NO_GATEWAY = {"openapi": "3.1.0", "info": {"title": "none", "version": "1"}, "paths": {}}


class Item(BaseModel):
    name: str


def items_app(holes: bool) -> FastAPI:
    app = FastAPI()

    @app.post("/api/items", status_code=201)
    async def create(body: Item | None = None) -> Item:
        if body is None and not holes:
            raise HTTPException(422, "a body is required")
        assert body is not None  # the hole: no body is a 500
        return body

    @app.get("/api/items/{name}")
    async def read(name: str) -> Item:
        if holes:
            raise HTTPException(409, "busy")  # a status the document does not list
        return Item(name=name)

    return app


def fuzz(app: FastAPI) -> Any:
    with served(app) as url:
        targets = load_targets(NO_GATEWAY, {"items": app.openapi()})
        return Fuzzer(url, targets, BUDGET).run(Pass("anonymous", dict))


def test_a_500_and_an_undocumented_status_are_found_with_their_curl_line():
    result = fuzz(items_app(holes=True))
    server_side = [f for f in result.findings.values() if f.server_side]
    contract = [f for f in result.findings.values() if not f.server_side]
    assert server_side and all(f.route == "POST /api/items" for f in server_side)
    assert server_side[0].curl.startswith("curl -X POST") and "/api/items" in server_side[0].curl
    assert any(f.route == "GET /api/items/{name}" and f.status == 409 for f in contract)
    assert result.server_errors > 0


def test_the_healthy_app_has_no_server_side_finding():
    result = fuzz(items_app(holes=False))
    assert not [f for f in result.findings.values() if f.server_side]
    assert sum(result.calls.values()) > 0


class Counter(ModelMachine):
    """A model with a lost write once three items are in: its failure shrinks to the
    three steps that cause it."""

    @initialize()
    def start(self) -> None:
        begin_run(self.context)
        self.model: list[int] = []
        self.stored: list[int] = []

    @rule(value=st.integers(0, 5))
    def add(self, value: int) -> None:
        self.model.append(value)
        if len(self.stored) < 2:
            self.stored.append(value)

    @invariant()
    def same(self) -> None:
        self.expect(self.stored == getattr(self, "model", []), "a write was lost")


def test_a_lost_write_is_shrunk_to_its_shortest_sequence():
    budget = StatefulBudget(examples=30, steps=10, shrink_s=30.0, wall_s=120.0, enough=1)
    context = Context(cast(Any, None), cast(Any, None), {}, budget)
    run = run_machine(Counter, context, seed=1)
    assert run.failure is not None and "lost" in run.failure
    assert [line for line in run.steps if line.startswith("state.add")] == [
        "state.add(value=0)"
    ] * 3
