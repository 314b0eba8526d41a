"""The gateway's app: upstream client, rate limits synced through Redis, probes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from secureconnect.common.app import create_app
from secureconnect.common.clock import SYSTEM_CLOCK, Clock
from secureconnect.common.deps import install_state
from secureconnect.common.health import Dependency
from secureconnect.common.metrics import REQUEST_TIMEOUTS
from secureconnect.common.probes import http_dependency, redis_dependency
from secureconnect.common.ratelimit import RateLimiter
from secureconnect.common.resilient_redis import ResilientRedis
from secureconnect.common.tokens import TokenCodec
from secureconnect.gateway.counters import SyncedCounters
from secureconnect.gateway.deps import GatewayState
from secureconnect.gateway.proxy import ROUTES, ProxyMiddleware
from secureconnect.gateway.routes import router
from secureconnect.gateway.service import GatewayService, upstream_timeouts
from secureconnect.gateway.settings import GatewaySettings
from secureconnect.gateway.transport import KeepAlivePool
from secureconnect.gateway.upstreams import Upstream, upstreams_from

#: Idle upstream connections are dropped before uvicorn's 5 s keep-alive closes them.
UPSTREAM_KEEPALIVE_EXPIRY_S = 2.0
#: Backends that the gateway cannot serve anything useful without.
REQUIRED_UPSTREAMS = frozenset({"auth"})


def upstream_dependencies(
    upstreams: dict[str, Upstream], client: httpx.AsyncClient
) -> list[Dependency]:
    dependencies = []
    for upstream in upstreams.values():
        for index, url in enumerate(upstream.urls):
            name = upstream.name if len(upstream.urls) == 1 else f"{upstream.name}-{index + 1}"
            required = upstream.name in REQUIRED_UPSTREAMS
            dependencies.append(http_dependency(name, client, f"{url}/health", required=required))
    return dependencies


def cors(settings: GatewaySettings) -> list[Middleware]:
    if not settings.cors_origins:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
            max_age=600,
        )
    ]


def create_gateway_app(settings: GatewaySettings, clock: Clock = SYSTEM_CLOCK) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        name = settings.service_name
        redis = ResilientRedis(settings, name, clock)
        await redis.start()
        pool = KeepAlivePool(
            settings.upstream_max_connections,
            UPSTREAM_KEEPALIVE_EXPIRY_S,
            upstream_timeouts(settings),
        )
        probe_client = httpx.AsyncClient(follow_redirects=False, trust_env=False)
        upstreams = upstreams_from(settings)
        counters = SyncedCounters(redis, clock)
        service = GatewayService(
            settings,
            pool,
            upstreams,
            RateLimiter(redis, name, clock, counters),
            TokenCodec(settings.jwt_key(), clock),
        )
        install_state(
            app,
            GatewayState(service),
            [redis_dependency(redis), *upstream_dependencies(upstreams, probe_client)],
        )
        try:
            yield
        finally:
            await counters.close()
            await pool.aclose()
            await probe_client.aclose()
            await redis.stop()

    for routes in ROUTES.values():  # start request_timeout_total at 0 for each
        for route in routes:
            REQUEST_TIMEOUTS.labels(settings.service_name, route.path)
    return create_app(
        settings,
        lifespan=lifespan,
        routers=[router],
        extra_middleware=cors(settings),
        inner_middleware=[Middleware(ProxyMiddleware)],
        # Its proxy closes the upstream connection when cancelled, and it has no
        # database: no task per request to keep the budget (benchmarks/README.md).
        unwinds_at_once=True,
    )
