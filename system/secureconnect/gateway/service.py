"""Proxying rules: rate limits, header hygiene, upstream timeouts and errors.

A hung upstream is cut at the read timeout (504 upstream_timeout, counted
in request_timeout_total); a refused connection is a 502; a service
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
from secureconnect.gateway.settings import RATE_LIMIT_WINDOW_S, GatewaySettings
from secureconnect.gateway.transport import BODY_COMPLETE
from secureconnect.gateway.upstreams import Upstream

log = logging.getLogger(__name__)

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
    }
)
#: Response headers the gateway sets itself.
OWN_RESPONSE_HEADERS = HOP_BY_HOP | {"date", "server", "x-request-id"}
#: Request bodies up to this size are read whole (a replayable request can retry a
#: stale keep-alive connection); larger ones stream.
BUFFERED_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class Outgoing:
    method: str
    path_and_query: str
    headers: list[tuple[str, str]]
    #: The whole body, or its chunks as the client sends them (Content-Length kept).
    body: bytes | AsyncIterable[bytes]
    client: str


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[str, str]]
    #: The whole body when it came with the head (most API answers: sent in one piece),
    #: else the body as the upstream sends it (the upstream connection is handed back
    #: when the iteration ends, however it ends).
    body: bytes | AsyncIterator[bytes]


def upstream_timeout(settings: GatewaySettings) -> httpx.Timeout:
    return httpx.Timeout(
        connect=settings.upstream_connect_timeout_s,
        read=settings.upstream_read_timeout_s,
        write=settings.upstream_write_timeout_s,
        pool=settings.upstream_pool_timeout_s,
    )


def forwarded_headers(
    incoming: list[tuple[str, str]], client: str, streamed: bool
) -> list[tuple[str, str]]:
    """The client's headers for the upstream: a buffered body's length is httpx's to set,
    a streamed body keeps the client's."""
    dropped = {"x-forwarded-for", "x-request-id"} | (set() if streamed else {"content-length"})
    headers = [
        (k, v) for k, v in incoming if k.lower() not in HOP_BY_HOP and k.lower() not in dropped
    ]
    headers += [("x-forwarded-for", client), ("x-request-id", request_id_var.get())]
    return headers


class GatewayService:
    def __init__(
        self,
        settings: GatewaySettings,
        client: httpx.AsyncClient,
        upstreams: dict[str, Upstream],
        limiter: RateLimiter,
        codec: TokenCodec,
    ) -> None:
        self.service = settings.service_name
        self.client = client
        self.timeouts = upstream_timeout(settings).as_dict()
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
        url = upstream.pick() + outgoing.path_and_query
        # A plain httpx.Request, not client.build_request: the shared client's
        # cookie jar must never leak one user's cookies into another's request.
        streamed = not isinstance(outgoing.body, bytes)
        request = httpx.Request(
            outgoing.method,
            url,
            headers=forwarded_headers(outgoing.headers, outgoing.client, streamed),
            content=outgoing.body,
            extensions={"timeout": self.timeouts},
        )
        try:
            response = await self.client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise self._timed_out(upstream, route, exc) from exc
        except httpx.TransportError as exc:
            log.warning(
                "upstream unreachable", extra={"upstream": upstream.name, "error": repr(exc)}
            )
            raise DomainError(
                502, "upstream_unavailable", f"the {upstream.name} service is unreachable"
            ) from exc
        headers = [
            (k, v)
            for k, v in response.headers.multi_items()
            if k.lower() not in OWN_RESPONSE_HEADERS
        ]
        if response.extensions.get(BODY_COMPLETE):
            return Answer(response.status_code, headers, await response.aread())
        return Answer(response.status_code, headers, self._relayed(upstream, response))

    async def _relayed(self, upstream: Upstream, response: httpx.Response) -> AsyncIterator[bytes]:
        """The upstream's body chunk by chunk; the connection goes back however it ends."""
        try:
            async for chunk in response.aiter_raw():
                yield chunk
        except httpx.HTTPError as exc:
            log.warning(
                "upstream body cut short", extra={"upstream": upstream.name, "error": repr(exc)}
            )
            raise
        finally:
            await response.aclose()

    def _timed_out(self, upstream: Upstream, route: str, exc: Exception) -> DomainError:
        REQUEST_TIMEOUTS.labels(self.service, route).inc()
        log.warning("upstream timed out", extra={"upstream": upstream.name, "error": repr(exc)})
        return DomainError(
            504, "upstream_timeout", f"the {upstream.name} service did not answer in time"
        )
