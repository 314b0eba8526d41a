"""The one error type of the embedded server's API.

Every failure a request can cause is an ``ApiError``; the HTTP layer turns it
into Toxiproxy's error body ``{"error": message, "status": code}``.
"""

from __future__ import annotations


class ApiError(Exception):
    """A request failure with the HTTP status Toxiproxy would answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def body(self) -> dict[str, object]:
        return {"error": self.message, "status": self.status}


def bad_request(detail: str) -> ApiError:
    """Toxiproxy prefixes every body decoding problem with "bad request body"."""
    return ApiError(400, f"bad request body: {detail}")


PROXY_NOT_FOUND = "proxy not found"
PROXY_EXISTS = "proxy already exists"
TOXIC_NOT_FOUND = "toxic not found"
TOXIC_EXISTS = "toxic already exists"
INVALID_TOXIC_TYPE = "invalid toxic type"
INVALID_STREAM = "stream was invalid, can be either upstream or downstream"
MISSING_FIELD = "missing required field"
