"""Every status a route answers, in its OpenAPI document, with the error body's schema.

FastAPI documents a route's success and a 422 whose body (`HTTPValidationError`)
is not the one this API sends. Clients generated from the contract (and fuzzers
judging it) need every status they will meet, so `document_errors` completes each
operation once the document is built:
- what follows from the operation's shape: 400 and 413 where it takes a body (not
  JSON; too large), 422 where it takes any input, 401 where it takes a token, 404
  where its path names an object;
- what every public route may answer: 429 (the gateway's and the service's rate
  limits), 503 (a dependency down with no fallback) and 504 (the time budget);
- what a route declares itself, in its decorator: `responses=errors(403, 409)`.
Each of these carries ErrorBody, the `{"error": {code, message}}` every error is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

PUBLIC_PREFIX = "/api/"
ERROR_SCHEMA = "ErrorBody"

DESCRIPTIONS = {
    400: "Bad request: the body is not JSON, or a value contradicts the state it names",
    401: "No token, or one that is invalid, expired or revoked",
    403: "Authenticated, but not allowed to do this",
    404: "No such object, or not one of the caller's",
    409: "Conflicts with the object's current state",
    413: "Body, upload or quota too large",
    422: "Input the schema refuses",
    429: "Rate limited: retry after the Retry-After header's seconds",
    503: "A dependency is down and there is no fallback",
    504: "The request ran out of its time budget",
}
#: What every public route may answer, whatever its shape.
EVERY_PUBLIC_ROUTE = (429, 503, 504)


class ErrorDetail(BaseModel):
    code: str
    message: str
    #: Seconds, on 429 (also in the Retry-After header).
    retry_after: int | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """A route's own error statuses, for its decorator's `responses=`."""
    return {s: {"model": ErrorBody, "description": DESCRIPTIONS[s]} for s in statuses}


def inferred_statuses(path: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses an operation answers by its shape alone."""
    parameters = operation.get("parameters", [])
    statuses: set[int] = set()
    if "requestBody" in operation:
        statuses |= {400, 413, 422}
    if parameters:
        statuses.add(422)
    if any(p["in"] == "header" and p["name"].lower() == "authorization" for p in parameters):
        statuses.add(401)
    if any(p["in"] == "path" for p in parameters):
        statuses.add(404)
    if path.startswith(PUBLIC_PREFIX):
        statuses.update(EVERY_PUBLIC_ROUTE)
    return statuses


def _error_response(status: int) -> dict[str, Any]:
    schema = {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}
    return {
        "description": DESCRIPTIONS.get(status, "Error"),
        "content": {"application/json": {"schema": schema}},
    }


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with every operation's error statuses and the error schema."""
    for path, item in document.get("paths", {}).items():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            declared = {int(s) for s in responses if s.isdigit() and int(s) >= 400}
            for status in sorted(declared | inferred_statuses(path, operation)):
                responses[str(status)] = _error_response(status)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(body.pop("$defs", {}))
    schemas[ERROR_SCHEMA] = body
    return document


def document_errors(app: FastAPI) -> None:
    """Complete the app's OpenAPI document as it is built (once: FastAPI caches it)."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
