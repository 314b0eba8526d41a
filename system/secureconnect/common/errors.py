"""The one domain error type and the handlers that render the API error body.

Below the routes, code raises `DomainError(status, code, message)`; the
handlers installed by `install_error_handlers` turn it, FastAPI's validation
errors, HTTPExceptions and anything unexpected into

    {"error": {"code": "snake_case_code", "message": "what went wrong"}}

so no client ever sees a traceback or a framework-specific body.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A failure with a meaning for the client: status, code, message."""

    def __init__(
        self, status: int, code: str, message: str, *, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


def error_body(code: str, message: str, retry_after: int | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if retry_after is not None:
        error["retry_after"] = retry_after
    return {"error": error}


def error_response(
    status: int, code: str, message: str, retry_after: float | None = None
) -> JSONResponse:
    headers = {}
    seconds = None if retry_after is None else max(1, math.ceil(retry_after))
    if seconds is not None:
        headers["Retry-After"] = str(seconds)
    return JSONResponse(error_body(code, message, seconds), status_code=status, headers=headers)


def describe_validation_errors(errors: Sequence[Any]) -> tuple[str, str]:
    """(code, message) for pydantic/FastAPI validation errors, naming each field."""
    if any(e.get("type") == "json_invalid" for e in errors):
        return "malformed_json", "request body is not valid JSON"
    parts = []
    for err in errors[:5]:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(loc) or "body"
        parts.append(f"{field}: {err.get('msg', 'invalid value')}")
    return "validation_error", "; ".join(parts) or "invalid request"


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


async def _domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return error_response(exc.status, exc.code, exc.message, exc.retry_after)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    code, message = describe_validation_errors(exc.errors())
    return error_response(422, code, message)


async def _http_exception(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    response = error_response(exc.status_code, code, message)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc)
    return error_response(500, "internal_error", "internal server error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(Exception, _unexpected)
