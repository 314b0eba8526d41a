"""The two ASGI middlewares every service runs, outermost first:

EdgeMiddleware      X-Request-ID in/out (bound to the log context), the seven
                    security headers exactly, http_requests_total, the duration
                    histogram and the access log, and the whole-request time
                    budget (504 + request_timeout_total before the response starts)
BoundaryMiddleware  413 once the body streamed so far exceeds the limit, and
                    unexpected exceptions → 500 with the API error body

A service's own middleware (CORS on the gateway) goes between them. They are
plain ASGI (no BaseHTTPMiddleware), and each is one layer with one `send`
wrapper: every layer costs a coroutine call per message of every request.
Non-HTTP scopes get the request id only.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from secureconnect.common.deadline import DeadlineExceeded, Lift, run_within
from secureconnect.common.errors import error_response
from secureconnect.common.logging import request_id_var
from secureconnect.common.metrics import HTTP_DURATION, HTTP_REQUESTS, REQUEST_TIMEOUTS

log = logging.getLogger("secureconnect.access")

REQUEST_ID_HEADER = b"x-request-id"
_REQUEST_ID_RE = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
#: Probes polled by orchestrators; counted in metrics but not access-logged.
QUIET_PATHS = frozenset({"/health", "/ready", "/metrics"})

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-xss-protection", b"1; mode=block"),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"content-security-policy", b"default-src 'self'"),
    (b"permissions-policy", b"geolocation=(), microphone=(), camera=()"),
)
_SECURITY_HEADER_NAMES = frozenset(name for name, _ in SECURITY_HEADERS)


def route_of(scope: Scope) -> str:
    """The matched route template (low-cardinality metric label)."""
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


def header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value
    return None


class EdgeMiddleware:
    """Outermost: request id, security headers, metrics and access log, time budget.

    The budget wins even over an app slow to unwind: the app runs under
    `run_within`, and once the budget is spent it is abandoned (cancelled,
    left to finish its cleanup in the background, its late writes dropped);
    an app that unwinds at once (`detach_work=False`) is cancelled in place.
    A response that has started (a streamed download) is no longer under the
    budget: each of its reads has its own timeout.
    """

    def __init__(
        self, app: ASGIApp, service: str, budget_s: float, detach_work: bool = True
    ) -> None:
        self.app = app
        self.service = service
        self.budget_s = budget_s
        #: False for an app whose work unwinds at once when cancelled (the gateway's
        #: proxy): the budget then cancels it in place (see `run_within`).
        self.detach_work = detach_work

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        request_id = _request_id(scope)
        token = request_id_var.set(request_id)
        try:
            if scope["type"] == "http":
                await self._http(scope, receive, send, request_id.encode())
            else:
                await self.app(scope, receive, send)
        finally:
            request_id_var.reset(token)

    async def _http(self, scope: Scope, receive: Receive, send: Send, request_id: bytes) -> None:
        started = time.perf_counter()
        status = 500
        response_started = Lift()
        abandoned = False

        async def send_edge(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = _edge_headers(message.get("headers", []), request_id)
                response_started.set()
            await send(message)

        async def send_unless_abandoned(message: Message) -> None:
            if not abandoned:
                await send_edge(message)

        try:
            work = self.app(scope, receive, send_unless_abandoned)
            await run_within(self.budget_s, work, lift=response_started, detach=self.detach_work)
        except DeadlineExceeded:
            abandoned = True
            REQUEST_TIMEOUTS.labels(self.service, route_of(scope)).inc()
            log.warning("request exceeded its time budget", extra={"budget_s": self.budget_s})
            if not response_started.is_set():
                message = f"request exceeded its time budget of {self.budget_s:g}s"
                await error_response(504, "request_timeout", message)(scope, receive, send_edge)
        finally:
            self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, elapsed_s: float) -> None:
        method, route = scope["method"], route_of(scope)
        HTTP_REQUESTS.labels(self.service, method, route, str(status)).inc()
        HTTP_DURATION.labels(self.service, method, route).observe(elapsed_s)
        if scope["path"] not in QUIET_PATHS:
            log.info(
                "request",
                extra={
                    "method": method,
                    "path": scope["path"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed_s * 1000, 2),
                    "client": (scope.get("client") or ("-",))[0],
                },
            )


def _request_id(scope: Scope) -> str:
    incoming = header(scope, REQUEST_ID_HEADER)
    if incoming is not None and _REQUEST_ID_RE.match(incoming):
        return incoming.decode()
    return uuid.uuid4().hex


def _edge_headers(
    headers: list[tuple[bytes, bytes]], request_id: bytes
) -> list[tuple[bytes, bytes]]:
    """The app's headers without its own request id or security headers, then ours."""
    kept = [
        h
        for h in headers
        if h[0] != REQUEST_ID_HEADER and h[0].lower() not in _SECURITY_HEADER_NAMES
    ]
    return [*kept, *SECURITY_HEADERS, (REQUEST_ID_HEADER, request_id)]


class _BodyTooLarge(Exception):
    pass


class BoundaryMiddleware:
    """Innermost: the body limit, counted as the body streams in (Content-Length is only
    a shortcut), and unexpected exceptions → 500 with the API body (the edge adds the
    headers)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._refuse(scope, receive, send)
        received = 0
        exceeded = False
        response_started = False

        async def receive_counting() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def send_tracking(message: Message) -> None:
            # The app may turn the failed read into its own 400; ours wins.
            nonlocal response_started
            if exceeded:
                raise _BodyTooLarge
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive_counting, send_tracking)
        except _BodyTooLarge:
            if not response_started:
                await self._refuse(scope, receive, send)
        except Exception as exc:
            if response_started:
                raise
            log.error("unhandled error", exc_info=exc)
            await error_response(500, "internal_error", "internal server error")(
                scope, receive, send
            )

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"request body exceeds the limit of {self.max_bytes} bytes"
        await error_response(413, "payload_too_large", message)(scope, receive, send)
