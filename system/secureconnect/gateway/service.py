"""Proxying rules: rate limits, header hygiene, upstream timeouts and errors.

A hung upstream is cut at the read timeout (504 upstream_timeout, counted
in request_timeout_total). An instance that cannot be connected to (refused,
or its name gone with its container) has been sent nothing, so the request
goes to the service's next instance (counted in
gateway_upstream_failovers_total); when none can be, it is a 502. A service
without a configured URL is a 503. Errors use the API error body.

Bodies stream: a request body larger than BUFFERED_BODY_BYTES (or of unknown
length) goes upstream as the client sends it, and every response body goes
back as the upstream sends it, so the gateway holds a few chunks, never a
whole body. An upstream that stops mid-body is cut at the read timeout, the
client's response ending short (its status was already sent).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

import httpx

from secureconnect.common.errors import DomainError
from secureconnect.common.logging import request_id_var
from secureconnect.common.metrics import REQUEST_TIMEOUTS
from secureconnect.common.ratelimit import RateLimit, RateLimiter
from secureconnect.common.tokens import TokenCodec
from secureconnect.gateway.metrics import UPSTREAM_FAILOVERS
from secureconnect.gateway.settings import RATE_LIMIT_WINDOW_S, GatewaySettings
from secureconnect.gateway.transport import (
    KeepAlivePool,
    Timeouts,
    UpstreamBody,
    UpstreamRequest,
    UpstreamResponse,
)
from secureconnect.gateway.upstreams import Upstream

log = logging.getLogger(__name__)

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
        b"host",
    }
)
#: Request headers the gateway sets itself (the body's framing is the pool's; an
#: expectation is met by the gateway, which reads the client's body before forwarding).
OWN_REQUEST_HEADERS = HOP_BY_HOP | {
    b"content-length",
    b"expect",
    b"x-forwarded-for",
    b"x-request-id",
}
#: Response headers the gateway sets itself.
OWN_RESPONSE_HEADERS = HOP_BY_HOP | {b"content-length", b"date", b"server", b"x-request-id"}
#: Request bodies up to this size are read whole (a replayable request can retry a
#: stale keep-alive connection); larger ones stream.
BUFFERED_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class Outgoing:
    method: str
    #: Path and query exactly as the client sent them.
    target: bytes
    #: The client's headers, lowercase names (as ASGI gives them).
    headers: list[tuple[bytes, bytes]]
    #: The whole body, or its chunks as the client sends them.
    body: bytes | AsyncIterable[bytes]
    #: A streamed body's declared length (None: unknown, it goes chunked).
    length: int | None
    client: str


@dataclass(frozen=True)
class Answer:
    status: int
    #: Lowercase names, without the framing headers (the server sets those).
    headers: list[tuple[bytes, bytes]]
    #: The whole body when it came with the head (most API answers: sent in one piece),
    #: else the body as the upstream sends it (the upstream connection is handed back
    #: when the iteration ends, however it ends).
    body: bytes | AsyncIterator[bytes]
    #: The upstream's Content-Length of a streamed body, passed on.
    length: bytes | None = None


def upstream_timeouts(settings: GatewaySettings) -> Timeouts:
    return Timeouts(
        connect=settings.upstream_connect_timeout_s,
        read=settings.upstream_read_timeout_s,
        write=settings.upstream_write_timeout_s,
        pool=settings.upstream_pool_timeout_s,
    )


def forwarded_headers(outgoing: Outgoing) -> list[tuple[bytes, bytes]]:
    """The client's end-to-end headers for the upstream, then the gateway's own."""
    headers = [(k, v) for k, v in outgoing.headers if k not in OWN_REQUEST_HEADERS]
    headers.append((b"x-forwarded-for", outgoing.client.encode("latin-1")))
    headers.append((b"x-request-id", request_id_var.get().encode("latin-1")))
    return headers


async def first_reachable(
    pool: KeepAlivePool, upstream: Upstream, request: UpstreamRequest
) -> UpstreamResponse:
    """The first of the upstream's instances that can be connected to answers. A
    ConnectError means nothing was sent, so even a streamed body is whole for the next."""
    *others, last = upstream.candidates()
    for origin in others:
        try:
            return await pool.exchange(origin, request)
        except httpx.ConnectError as exc:
            UPSTREAM_FAILOVERS.labels(upstream.name).inc()
            log.warning(
                "upstream instance unreachable, trying the next",
                extra={"upstream": upstream.name, "error": repr(exc)},
            )
    return await pool.exchange(last, request)


class GatewayService:
    def __init__(
        self,
        settings: GatewaySettings,
        pool: KeepAlivePool,
        upstreams: dict[str, Upstream],
        limiter: RateLimiter,
        codec: TokenCodec,
    ) -> None:
        self.service = settings.service_name
        self.pool = pool
        self.upstreams = upstreams
        self.limiter = limiter
        self.codec = codec
        self.per_address = RateLimit(
            "address", settings.rate_limit_per_address, RATE_LIMIT_WINDOW_S
        )
        self.per_user = RateLimit("user", settings.rate_limit_per_user, RATE_LIMIT_WINDOW_S)

    async def admit(self, client: str, authorization: str | None) -> None:
        """Count the request against its address (and user, if the token is genuine)."""
        checks = [(self.per_address, client)]
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() == "bearer" and token:
            user = self.codec.peek_subject(token.strip())
            if user is not None:
                checks.append((self.per_user, user))
        await self.limiter.hit(checks)

    async def forward(self, upstream_name: str, route: str, outgoing: Outgoing) -> Answer:
        upstream = self.upstreams[upstream_name]
        request = UpstreamRequest(
            outgoing.method,
            outgoing.target,
            forwarded_headers(outgoing),
            outgoing.body,
            outgoing.length,
        )
        try:
            response = await first_reachable(self.pool, upstream, request)
        except httpx.TimeoutException as exc:
            raise self._timed_out(upstream, route, exc) from exc
        except httpx.TransportError as exc:
            log.warning(
                "upstream unreachable", extra={"upstream": upstream.name, "error": repr(exc)}
            )
            raise DomainError(
                502, "upstream_unavailable", f"the {upstream.name} service is unreachable"
            ) from exc
        headers, length = [], None
        for name, value in response.headers:
            name = name.lower()
            if name not in OWN_RESPONSE_HEADERS:
                headers.append((name, value))
            elif name == b"content-length":
                length = value
        if isinstance(response.body, bytes):
            return Answer(response.status, headers, response.body)
        return Answer(response.status, headers, self._relayed(upstream, response.body), length)

    async def _relayed(self, upstream: Upstream, body: UpstreamBody) -> AsyncIterator[bytes]:
        """The upstream's body chunk by chunk; the connection goes back however it ends."""
        try:
            async for chunk in body:
                yield chunk
        except httpx.HTTPError as exc:
            log.warning(
                "upstream body cut short", extra={"upstream": upstream.name, "error": repr(exc)}
            )
            raise
        finally:
            await body.aclose()

    def _timed_out(self, upstream: Upstream, route: str, exc: Exception) -> DomainError:
        REQUEST_TIMEOUTS.labels(self.service, route).inc()
        log.warning("upstream timed out", extra={"upstream": upstream.name, "error": repr(exc)})
        return DomainError(
            504, "upstream_timeout", f"the {upstream.name} service did not answer in time"
        )
