"""The contract the services publish: every operation of every service's OpenAPI
document, its parameters (path, query, header and the top-level fields of its JSON
body), the WebSocket routes listed under `x-websockets`, and a minimal valid request
for each operation.

Minimal requests come from schemathesis' own generation: the first example that
Hypothesis draws with `derandomize=True` and no shrinking is the simplest instance of
the schema (shortest strings, fewest items, optional fields left out), the same on
every run, and it takes milliseconds where `hypothesis.find` shrinking takes seconds.
(hypothesis-jsonschema was the first choice; its 0.23 release no longer runs on the
Hypothesis that schemathesis needs.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from harness.errors import Inconclusive

#: Operations of these methods are read from the documents.
METHODS = ("get", "post", "put", "patch", "delete")
#: Where the public API lives; other paths are probes or service-to-service routes.
PUBLIC_PREFIX = "/api/"
PROBES = frozenset({"/health", "/ready", "/metrics"})
ID_NAME = re.compile(r"(^id$|_ids?$)")
DOCUMENT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Parameter:
    name: str
    #: path | query | header | body (a top-level field of the JSON body)
    location: str
    required: bool
    schema: Mapping[str, Any] = field(compare=False, hash=False)

    @property
    def is_id(self) -> bool:
        """It names a user or an object: `*_id`, `*_ids`, `id`, or a UUID-valued field."""
        return bool(ID_NAME.search(self.name)) or _has_uuid_format(self.schema)


@dataclass(frozen=True)
class Operation:
    service: str
    #: The URL of the service that published it, for calls that bypass the gateway.
    service_url: str
    method: str
    path: str
    parameters: tuple[Parameter, ...]
    document: Mapping[str, Any] = field(compare=False, hash=False, repr=False)

    @property
    def route(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def takes_token(self) -> bool:
        """It authenticates its caller with the Authorization header."""
        return any(
            p.location == "header" and p.name.lower() == "authorization" for p in self.parameters
        )

    @property
    def is_public(self) -> bool:
        return self.path.startswith(PUBLIC_PREFIX)

    def ids(self) -> list[Parameter]:
        return [p for p in self.parameters if p.is_id]


@dataclass(frozen=True)
class WebSocketRoute:
    path: str
    parameters: tuple[str, ...]


@dataclass
class Contract:
    operations: list[Operation]
    websockets: list[WebSocketRoute]
    #: Some document has `x-websockets` (else the WebSocket routes are unknown, not absent).
    lists_websockets: bool = True


def read_contract(services: Mapping[str, str]) -> Contract:
    """The documents of the running services (name → base URL), each operation once
    (instances of one service publish the same document)."""
    operations: dict[tuple[str, str], Operation] = {}
    websockets: dict[str, WebSocketRoute] = {}
    lists_websockets = False
    for name, url in services.items():
        document = service_document(name, url)
        lists_websockets |= "x-websockets" in document
        for operation in _operations(name, url, document):
            operations.setdefault((operation.method, operation.path), operation)
        for route in document.get("x-websockets", []):
            websockets.setdefault(
                route["path"], WebSocketRoute(route["path"], tuple(route["parameters"]))
            )
    return Contract(list(operations.values()), list(websockets.values()), lists_websockets)


def service_document(name: str, url: str) -> dict[str, Any]:
    """The OpenAPI document a service publishes; Inconclusive when it publishes none."""
    answer = httpx.get(f"{url}/openapi.json", timeout=DOCUMENT_TIMEOUT_S)
    if answer.status_code == 404:
        raise Inconclusive(f"{name} does not publish its contract at /openapi.json")
    answer.raise_for_status()
    document: dict[str, Any] = answer.json()
    return document


def _operations(name: str, url: str, document: dict[str, Any]) -> list[Operation]:
    found = []
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            parameters = [
                Parameter(p["name"], p["in"], bool(p.get("required")), p.get("schema", {}))
                for p in operation.get("parameters", [])
            ]
            parameters += _body_fields(document, operation)
            found.append(Operation(name, url, method.upper(), path, tuple(parameters), document))
    return found


def _body_fields(document: Mapping[str, Any], operation: Mapping[str, Any]) -> list[Parameter]:
    content = operation.get("requestBody", {}).get("content", {})
    schema = resolve(document, content.get("application/json", {}).get("schema", {}))
    for choice in schema.get("anyOf", []):  # an optional body: Model | null
        if resolve(document, choice).get("type") == "object":
            schema = resolve(document, choice)
    required = set(schema.get("required", []))
    return [
        Parameter(name, "body", name in required, resolve(document, sub))
        for name, sub in schema.get("properties", {}).items()
    ]


def resolve(document: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """The schema a local `$ref` points at (one level is all FastAPI writes)."""
    reference = schema.get("$ref")
    if not isinstance(reference, str) or not reference.startswith("#/"):
        return schema
    target: Any = document
    for part in reference[2:].split("/"):
        target = target[part]
    return dict(target)


def _has_uuid_format(schema: Mapping[str, Any]) -> bool:
    if schema.get("format") == "uuid":
        return True
    nested = [*schema.get("anyOf", []), *schema.get("oneOf", [])]
    if isinstance(schema.get("items"), Mapping):
        nested.append(schema["items"])
    return any(_has_uuid_format(s) for s in nested if isinstance(s, Mapping))


@dataclass(frozen=True)
class MinimalRequest:
    path_parameters: dict[str, Any]
    query: dict[str, Any]
    #: None: no body (also for an optional body whose minimal instance is null).
    body: Any


class MinimalRequests:
    """The simplest request each operation's schema accepts, the same on every run;
    each service's document is loaded into schemathesis once."""

    def __init__(self) -> None:
        self._schemas: dict[str, Any] = {}

    def __call__(self, operation: Operation) -> MinimalRequest:
        from hypothesis import HealthCheck, Phase, given, settings

        drawn: list[Any] = []
        generation = settings(
            database=None,
            derandomize=True,
            max_examples=1,
            phases=[Phase.generate],
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )

        @generation
        @given(self._schema(operation)[operation.path][operation.method].as_strategy())
        def first(case: Any) -> None:
            drawn.append(case)

        first()
        case = drawn[0]
        body = case.body if type(case.body).__name__ != "NotSet" else None
        return MinimalRequest(dict(case.path_parameters or {}), dict(case.query or {}), body)

    def _schema(self, operation: Operation) -> Any:
        if operation.service not in self._schemas:
            import schemathesis  # on first use: it is large and few checks need it

            self._schemas[operation.service] = schemathesis.openapi.from_dict(
                dict(operation.document)
            )
        return self._schemas[operation.service]
