"""Proxying rules: rate limits, header hygiene, upstream timeouts and errors.

A hung upstream is cut at the read timeout (504 upstream_timeout, counted
in request_timeout_total); a refused connection is a 502; a service
without a configured URL is a 503. Errors use the API error body.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx

from secureconnect.common.errors import DomainError
from secureconnect.common.logging import request_id_var
from secureconnect.common.metrics import REQUEST_TIMEOUTS
from secureconnect.common.ratelimit import RateLimit, RateLimiter
from secureconnect.common.tokens import TokenCodec
from secureconnect.gateway.settings import RATE_LIMIT_WINDOW_S, GatewaySettings
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
        "content-length",
    }
)
#: Response headers the gateway sets itself.
OWN_RESPONSE_HEADERS = HOP_BY_HOP | {"date", "server", "x-request-id"}


@dataclass(frozen=True)
class Outgoing:
    method: str
    path_and_query: str
    headers: list[tuple[str, str]]
    body: bytes
    client: str


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def upstream_timeout(settings: GatewaySettings) -> httpx.Timeout:
    return httpx.Timeout(
        connect=settings.upstream_connect_timeout_s,
        read=settings.upstream_read_timeout_s,
        write=settings.upstream_write_timeout_s,
        pool=settings.upstream_pool_timeout_s,
    )


def forwarded_headers(incoming: list[tuple[str, str]], client: str) -> list[tuple[str, str]]:
    headers = [
        (k, v)
        for k, v in incoming
        if k.lower() not in HOP_BY_HOP and k.lower() not in ("x-forwarded-for", "x-request-id")
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
        request = httpx.Request(
            outgoing.method,
            url,
            headers=forwarded_headers(outgoing.headers, outgoing.client),
            content=outgoing.body,
            extensions={"timeout": self.timeouts},
        )
        try:
            response = await self.client.send(request, stream=True)
            body = b"".join([chunk async for chunk in response.aiter_raw()])
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
        return Answer(response.status_code, headers, body)

    def _timed_out(self, upstream: Upstream, route: str, exc: Exception) -> DomainError:
        REQUEST_TIMEOUTS.labels(self.service, route).inc()
        log.warning("upstream timed out", extra={"upstream": upstream.name, "error": repr(exc)})
        return DomainError(
            504, "upstream_timeout", f"the {upstream.name} service did not answer in time"
        )
