"""The authorization matrix, generated from the contract.

Every public route that takes the id of a user or an object is called through the
gateway three times with the owner's ids: as anonymous, as an outsider (a user who
is no participant and no owner) and as the owner. Outsiders get 401 (anonymous) or
404 (authenticated: API.md hides a conversation, its messages, polls and calls from
a non-participant) and none of the owner's data; the owner's call must succeed, or
the refusals prove nothing. A route that authenticates with a capability instead of
a token (a signed download link) refuses a forged one with 401/403/404.

Lists (authenticated GET routes without ids) must show an outsider none of the
owner's objects; internal routes must not be routed by the gateway, and the service
itself refuses a user's token on them. WebSocket routes are in authz_sockets.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from harness.checks.library.authz_objects import Factory, Objects, Principal
from harness.checks.library.contract import (
    PROBES,
    Contract,
    MinimalRequest,
    MinimalRequests,
    Operation,
)
from harness.keepalive import LIMITS

ROLES = ("anonymous", "outsider", "owner")
#: What a caller without a token is answered on a route that takes one.
ANONYMOUS_REFUSALS = frozenset({401})
#: What an authenticated outsider is answered: the object does not exist for them.
OUTSIDER_REFUSALS = frozenset({404})
#: A forged capability (a download link's signature) is refused, whoever sends it.
CAPABILITY_REFUSALS = frozenset({401, 403, 404})
#: An internal route is not routed by the gateway...
GATEWAY_HIDES = frozenset({404})
#: ...and its service refuses a user's token (it takes service tokens only).
SERVICE_REFUSES_USERS = frozenset({401, 403})
READ_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class Cast:
    owner: Principal
    #: Shares the owner's conversation (a call needs someone to ring).
    peer: Principal
    outsider: Principal


@dataclass
class Row:
    route: str
    cells: dict[str, str]
    problems: list[str] = field(default_factory=list)


@dataclass
class Matrix:
    rows: list[Row] = field(default_factory=list)
    #: Routes that could not be audited (an id without a factory).
    uncovered: list[str] = field(default_factory=list)
    #: Routes whose only ids are ones anyone may name (not in the matrix, by design).
    unbound: list[str] = field(default_factory=list)

    @property
    def defects(self) -> list[str]:
        return self.uncovered + [f"{r.route}: {p}" for r in self.rows for p in r.problems]

    def table(self) -> tuple[list[str], list[list[str]]]:
        columns = ["route", *ROLES, "verdict"]
        rows = [
            [r.route, *(r.cells.get(role, "") for role in ROLES), "; ".join(r.problems) or "ok"]
            for r in self.rows
        ]
        return columns, rows


class AuthorizationAudit:
    def __init__(
        self,
        http: httpx.Client,
        cast: Cast,
        factories: Mapping[str, Factory],
        unbound: Mapping[str, str],
    ) -> None:
        self.http = http
        self.cast = cast
        self.factories = factories
        self.unbound = unbound
        self.requests = MinimalRequests()
        self.fingerprints: set[str] = set()
        self.shared = self.scope()
        self.matrix = Matrix()

    def scope(self) -> Objects:
        return Objects(self.http, self.cast.owner, self.cast.peer, self.fingerprints)

    def run(self, contract: Contract) -> Matrix:
        lists = []
        for operation in contract.operations:
            if not operation.is_public:
                if operation.path not in PROBES:
                    self._internal(operation)
            elif self.covered(operation.route, [p.name for p in operation.ids()]):
                if self._bound(operation):
                    self._route(operation)
                elif operation.method == "GET" and operation.takes_token:
                    lists.append(operation)  # after the routes: every object exists by then
                elif operation.ids():
                    self.matrix.unbound.append(operation.route)
        for operation in lists:
            self._list(operation)
        return self.matrix

    def _bound(self, operation: Operation) -> list[str]:
        return [p.name for p in operation.ids() if p.name not in self.unbound]

    def covered(self, route: str, ids: list[str]) -> bool:
        """Every id parameter has a factory (or anyone may name it); else it is flagged."""
        missing = [n for n in ids if n not in self.factories and n not in self.unbound]
        if missing:
            self.matrix.uncovered.append(
                f"{route}: no factory for the id parameter {', '.join(missing)}: "
                "the route's authorization is not audited"
            )
        return not missing

    def values(self, operation: Operation, scope: Objects) -> dict[str, Any]:
        names = {p.name for p in operation.parameters} - set(self.unbound)
        return {n: self.factories[n].make(scope) for n in sorted(names & set(self.factories))}

    def _route(self, operation: Operation) -> None:
        scope = self.shared if operation.method in READ_METHODS else self.scope()
        minimal = self.requests(operation)
        owners = self.values(operation, scope)
        forged = self._forged(operation, minimal, owners)
        refusals = (ANONYMOUS_REFUSALS, OUTSIDER_REFUSALS)
        if not operation.takes_token:
            refusals = (CAPABILITY_REFUSALS, CAPABILITY_REFUSALS)
        self._call_each(
            operation,
            minimal,
            [
                ("anonymous", {}, forged, refusals[0]),
                ("outsider", self.cast.outsider.headers, forged, refusals[1]),
                ("owner", self.cast.owner.headers, owners, None),
            ],
        )

    def _forged(
        self, operation: Operation, minimal: MinimalRequest, owners: dict[str, Any]
    ) -> dict[str, Any]:
        """The owner's ids with every capability replaced by the schema's minimal value."""
        given = {**minimal.path_parameters, **minimal.query, **_fields(minimal.body)}
        forged = dict(owners)
        for name in [n for n in owners if self.factories[n].capability]:
            forged.pop(name)
            if name in given:
                forged[name] = given[name]
        return forged

    def _list(self, operation: Operation) -> None:
        minimal = self.requests(operation)
        values = self.values(operation, self.shared)
        self._call_each(
            operation,
            minimal,
            [
                ("anonymous", {}, values, ANONYMOUS_REFUSALS),
                ("outsider", self.cast.outsider.headers, values, None),
                ("owner", self.cast.owner.headers, values, None),
            ],
        )

    def _call_each(
        self,
        operation: Operation,
        minimal: MinimalRequest,
        plan: list[tuple[str, Mapping[str, str], Mapping[str, Any], frozenset[int] | None]],
    ) -> None:
        """One row: each role's call through the gateway, judged."""
        row = Row(operation.route, {})
        for role, headers, values, expected in plan:
            answer, sent = send_request(self.http, operation, minimal, values, headers)
            self._judge(row, role, answer, sent, expected)
        self.matrix.rows.append(row)

    def _internal(self, operation: Operation) -> None:
        """Not the gateway's to route; the service itself refuses a user's token."""
        minimal = self.requests(operation)
        row = Row(operation.route, {})
        for role, headers in (("anonymous", {}), ("outsider", self.cast.outsider.headers)):
            answer, sent = send_request(self.http, operation, minimal, {}, headers)
            self._judge(row, role, answer, sent, GATEWAY_HIDES, where="gateway")
        with httpx.Client(
            base_url=operation.service_url, timeout=self.http.timeout, limits=LIMITS
        ) as direct:
            answer, sent = send_request(direct, operation, minimal, {}, self.cast.owner.headers)
        self._judge(row, "owner", answer, sent, SERVICE_REFUSES_USERS, where=operation.service)
        row.cells["owner"] += " (user token)"
        self.matrix.rows.append(row)

    def _judge(
        self,
        row: Row,
        role: str,
        answer: httpx.Response,
        sent: str,
        expected: frozenset[int] | None,
        where: str = "",
    ) -> None:
        """`expected` None: the call must succeed (the owner; an outsider's own list)."""
        row.cells[role] = f"{answer.status_code}" + (f" via {where}" if where else "")
        if expected is None and not answer.is_success:
            row.problems.append(
                f"the {role}'s call answered {answer.status_code} {answer.text[:120]}"
                + (
                    ": the request is invalid, so the refusals prove nothing"
                    if role == "owner"
                    else ""
                )
            )
        elif expected is not None and answer.status_code not in expected:
            row.problems.append(
                f"{role} got {answer.status_code}, expected {'/'.join(map(str, sorted(expected)))}"
            )
        if role != "owner":
            leaked = sorted(f for f in self.fingerprints if f in answer.text and f not in sent)
            if leaked:
                row.problems.append(f"{role}'s answer holds the owner's data: {leaked[:3]}")


def send_request(
    client: httpx.Client,
    operation: Operation,
    minimal: MinimalRequest,
    values: Mapping[str, Any],
    headers: Mapping[str, str],
) -> tuple[httpx.Response, str]:
    """The minimal request with `values` filled in; returns the answer and the text
    of what was sent (values sent are not counted as leaked when echoed)."""
    where = {p.name: p.location for p in operation.parameters}
    path_values = {**minimal.path_parameters}
    query = {**minimal.query}
    body = minimal.body
    for name, value in values.items():
        if where[name] == "path":
            path_values[name] = value
        elif where[name] == "query":
            query[name] = value
        elif where[name] == "body":
            body = {**_fields(body), name: value}
    path = operation.path.format(**{k: quote(str(v), safe="") for k, v in path_values.items()})
    sent_headers = dict(headers)
    content = None
    if body is not None:
        # ASCII-escaped, as JSON allows: a lone surrogate has no UTF-8 form to send.
        content = json.dumps(body).encode()
        sent_headers["Content-Type"] = "application/json"
    answer = client.request(
        operation.method, path, params=query, content=content, headers=sent_headers
    )
    return answer, f"{answer.request.url} {answer.request.content.decode(errors='replace')}"


def _fields(body: Any) -> dict[str, Any]:
    return dict(body) if isinstance(body, Mapping) else {}
