"""Hostile text in every text field of every operation, on real objects.

Random fuzzing may or may not draw a NUL for a given field within its budget;
this probe does, for each one: every public operation's text inputs (top-level
body fields, query and path parameters whose schema is a string or a list of
strings, ids and enumerations aside) receive, one at a time, each value of
HOSTILE_TEXT in the otherwise simplest valid request, with the owner's real
objects for its ids (the authorization audit's factories), so the value travels
as far as the operation goes: past validation, into the database.

Judged: never a 5xx; a success must not hand the raw character back (it was
stored as sent). Refusing (4xx) or stripping are both fine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from harness.checks.library.authz import send_request
from harness.checks.library.authz_objects import Factory, Objects, Principal
from harness.checks.library.contract import Contract, MinimalRequests, Operation, Parameter

#: What no name, message or token has a use for, and what breaks the layers below.
HOSTILE_TEXT: Mapping[str, str] = {
    "NUL": "nul\x00byte",
    "lone surrogate": "half\ud800pair",
    "C1 control": "next\x85line",
    "terminal escape": "\x1b[2Jcleared",
}
TEXT_LOCATIONS = ("body", "query", "path")


@dataclass
class Probe:
    route: str
    field: str
    kind: str
    status: int
    problem: str = ""

    def row(self) -> list[str]:
        return [self.route, self.field, self.kind, str(self.status), self.problem or "ok"]


@dataclass
class ProbeReport:
    probes: list[Probe] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return [f"{p.route} {p.field} ({p.kind}): {p.problem}" for p in self.probes if p.problem]


def is_text(parameter: Parameter) -> bool:
    """A free-text input: a string (or list of strings) that is no id, enum or format."""
    schema = parameter.schema
    for choice in schema.get("anyOf", []):  # an optional field: text | null
        if choice.get("type") in ("string", "array"):
            schema = choice
    if schema.get("type") == "array":
        schema = schema.get("items", {})
    plain = not ({"enum", "format", "const"} & set(schema))
    return (
        schema.get("type") == "string"
        and plain
        and not parameter.is_id
        and parameter.location in TEXT_LOCATIONS
    )


def _as_sent(parameter: Parameter, value: str) -> Any:
    listed = parameter.schema.get("type") == "array" or any(
        c.get("type") == "array" for c in parameter.schema.get("anyOf", [])
    )
    return [value, "plain"] if listed else value


def _hostile(value: str) -> set[str]:
    """The characters of `value` that are the point: controls and surrogates."""
    return {ch for ch in value if _is_hostile(ord(ch))}


def _is_hostile(code: int) -> bool:
    return code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF


def _unsendable(value: str) -> bool:
    return any(0xD800 <= ord(ch) <= 0xDFFF for ch in value)


def _strings(data: Any) -> list[str]:
    if isinstance(data, str):
        return [data]
    if isinstance(data, Mapping):
        return [s for key, item in data.items() for s in (*_strings(key), *_strings(item))]
    if isinstance(data, list):
        return [s for item in data for s in _strings(item)]
    return []


def _holds(answer: httpx.Response, value: str) -> bool:
    """The answer hands the hostile character back (in any string of its JSON)."""
    try:
        data = answer.json()
    except ValueError:
        return False
    wanted = _hostile(value)
    return any(wanted & set(text) for text in _strings(data))


class HostileTextProbe:
    def __init__(
        self,
        http: httpx.Client,
        owner: Principal,
        peer: Principal,
        factories: Mapping[str, Factory],
    ) -> None:
        self.http = http
        self.owner = owner
        self.factories = factories
        self.objects = Objects(http, owner, peer, set())
        self.requests = MinimalRequests()
        self.report = ProbeReport()

    def run(self, contract: Contract) -> ProbeReport:
        for operation in contract.operations:
            if operation.is_public:
                for parameter in filter(is_text, operation.parameters):
                    self._field(operation, parameter)
        return self.report

    def _field(self, operation: Operation, parameter: Parameter) -> None:
        minimal = self.requests(operation)
        ids = {p.name for p in operation.parameters if p.name in self.factories}
        values = {n: self.factories[n].make(self.objects) for n in sorted(ids - {parameter.name})}
        for kind, value in HOSTILE_TEXT.items():
            if parameter.location != "body" and _unsendable(value):
                continue  # a URL carries UTF-8 bytes: a lone surrogate has no such form
            sent = {**values, parameter.name: _as_sent(parameter, value)}
            answer, _ = send_request(self.http, operation, minimal, sent, self.owner.headers)
            probe = Probe(operation.route, parameter.name, kind, answer.status_code)
            if answer.status_code >= 500:
                probe.problem = f"answered {answer.status_code}: {answer.text[:120]}"
            elif answer.is_success and _holds(answer, value):
                probe.problem = "accepted and handed back the raw character"
            self.report.probes.append(probe)
