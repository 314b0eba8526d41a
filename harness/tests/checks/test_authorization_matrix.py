"""AUTHZ-001's logic against a real FastAPI app: it passes the healthy routes and fails
each hole, naming the route."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from harness.checks.library.authz import AuthorizationAudit, Cast, Matrix
from harness.checks.library.authz_sockets import audit_sockets
from harness.checks.library.contract import Contract, read_contract
from harness.tests.checks.asgi import served
from harness.tests.checks.notes_app import NOTE_FACTORIES, notes_app, user


def audit(base_url: str) -> Matrix:
    contract = read_contract({"notes": base_url})
    with httpx.Client(base_url=base_url, timeout=5) as http:
        cast = Cast(user("owner"), user("peer"), user("outsider"))
        run = AuthorizationAudit(http, cast, NOTE_FACTORIES, unbound={})
        run.run(contract)
        audit_sockets(run, contract, base_url)
    return run.matrix


@pytest.fixture(scope="module")
def healthy() -> Iterator[Matrix]:
    with served(notes_app(holes=False)) as url:
        yield audit(url)


@pytest.fixture(scope="module")
def holey() -> Iterator[Matrix]:
    with served(notes_app(holes=True)) as url:
        yield audit(url)


def problems_of(matrix: Matrix, route: str) -> str:
    return " ".join(d for d in matrix.defects if d.startswith(route))


def test_healthy_routes_pass_with_a_full_matrix(healthy: Matrix) -> None:
    assert healthy.defects == []
    cells = {row.route: row.cells for row in healthy.rows}
    assert cells["GET /api/v1/notes/{note_id}"] == {
        "anonymous": "401",
        "outsider": "404",
        "owner": "200",
    }
    assert cells["DELETE /api/v1/notes/{note_id}"]["owner"] == "204"
    assert cells["GET /api/v1/notes"]["outsider"] == "200"  # a list: judged on its content
    assert cells["WS /ws/notes/{note_id}"]["outsider"] == "closed 4404"
    columns, rows = healthy.table()
    assert columns == ["route", "anonymous", "outsider", "owner", "verdict"]
    assert all(row[-1] == "ok" for row in rows)


def test_a_route_that_shows_any_user_the_note_fails(holey: Matrix) -> None:
    found = problems_of(holey, "GET /api/v1/leaky/{note_id}")
    assert "outsider got 200, expected 404" in found
    assert "outsider's answer holds the owner's data" in found


def test_a_route_that_forgets_401_fails(holey: Matrix) -> None:
    assert "anonymous got 404, expected 401" in problems_of(holey, "GET /api/v1/careless/{note_id}")


def test_an_id_without_a_factory_fails_naming_it(holey: Matrix) -> None:
    found = problems_of(holey, "GET /api/v1/widgets/{widget_id}")
    assert "no factory for the id parameter widget_id" in found


def test_a_list_of_everyones_notes_fails(holey: Matrix) -> None:
    found = problems_of(holey, "GET /api/v1/everything")
    assert "outsider's answer holds the owner's data" in found


def test_a_link_that_takes_any_signature_fails(holey: Matrix) -> None:
    assert "anonymous got 200" in problems_of(holey, "GET /api/v1/shared/{note_id}")


def test_a_socket_that_accepts_anyone_fails(holey: Matrix) -> None:
    found = problems_of(holey, "WS /ws/notes/{note_id}")
    assert "anonymous's socket was not refused" in found
    assert "outsider's socket was not refused" in found


def test_the_healthy_routes_stay_healthy_beside_the_holes(holey: Matrix) -> None:
    assert problems_of(holey, "GET /api/v1/notes/{note_id}") == ""
    assert problems_of(holey, "DELETE /api/v1/notes/{note_id}") == ""


def test_a_contract_without_its_websockets_is_flagged() -> None:
    with httpx.Client(base_url="http://127.0.0.1:9", timeout=1) as http:
        cast = Cast(user("owner"), user("peer"), user("outsider"))
        run = AuthorizationAudit(http, cast, NOTE_FACTORIES, unbound={})
        audit_sockets(run, Contract([], [], lists_websockets=False), "http://127.0.0.1:9")
    assert any("no service lists its WebSocket routes" in d for d in run.matrix.defects)
