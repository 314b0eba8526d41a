"""`create_app`: what every service wires the same way, once.

Error handlers, probes (/health, /ready, /metrics) and the middleware stack
(the edge: request id, security headers, metrics + access log, time budget;
the boundary: body limit, unexpected errors). A service passes its settings, its routers, its
lifespan (which opens resources and appends to `app.state.dependencies`)
and any extra middleware (e.g. CORS on the gateway).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.telemetry import TelemetryConfig
from starlette.middleware import Middleware
from starlette.routing import WebSocketRoute

from secureconnect.common.errors import install_error_handlers
from secureconnect.common.health import probes
from secureconnect.common.metrics import REQUEST_TIMEOUTS, publish_periods
from secureconnect.common.middleware import BoundaryMiddleware, EdgeMiddleware
from secureconnect.common.openapi import document_errors
from secureconnect.common.settings import ServiceSettings
from secureconnect.common.tasks import stop

#: Probe routes never run long enough to time out; no series for them.
QUIET_PATHS = frozenset({"/health", "/ready", "/metrics"})

#: FastAPI's own OpenTelemetry off: the services' metrics are Prometheus (/metrics), and
#: with it on, every request asks whether a tracer or meter has been configured since.
NO_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
}

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_app(
    settings: ServiceSettings,
    *,
    lifespan: Lifespan,
    routers: Sequence[APIRouter] = (),
    extra_middleware: Sequence[Middleware] = (),
    inner_middleware: Sequence[Middleware] = (),
    periods: Mapping[str, float] | None = None,
    unwinds_at_once: bool = False,
) -> FastAPI:
    """`extra_middleware` goes between the edge and the boundary (CORS), `inner_middleware`
    inside the boundary (an app of its own in front of the router: the gateway's proxy);
    `periods`: the service's own policy periods, exposed as policy_period_seconds;
    `unwinds_at_once`: no request's work shields its cleanup from a cancel (no database),
    so the request budget cancels it in place instead of abandoning a task of its own."""
    app = FastAPI(
        title=f"SecureConnect {settings.service_name}",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None if not settings.is_local else "/openapi.json",
        telemetry=NO_TELEMETRY,
    )
    app.state.settings = settings
    app.state.dependencies = []
    install_error_handlers(app)
    app.include_router(probes)
    for router in routers:
        app.include_router(router)
    _declare_timeout_series(routers, settings.service_name)
    publish_periods(
        settings.service_name, {"request_budget": settings.request_timeout_s, **(periods or {})}
    )
    _publish_websockets(app, routers)
    document_errors(app)
    # add_middleware puts each new one outermost: innermost first here.
    for middleware in inner_middleware:
        app.add_middleware(middleware.cls, *middleware.args, **middleware.kwargs)
    app.add_middleware(BoundaryMiddleware, max_bytes=settings.max_body_bytes)
    for middleware in extra_middleware:
        app.add_middleware(middleware.cls, *middleware.args, **middleware.kwargs)
    app.add_middleware(
        EdgeMiddleware,
        service=settings.service_name,
        budget_s=settings.request_timeout_s,
        detach_work=not unwinds_at_once,
    )
    return app


def _declare_timeout_series(routers: Sequence[APIRouter], service: str) -> None:
    """Start request_timeout_total at 0 for every route: a series that first appears
    already at 40 has no increase for rate(), so the first burst of timeouts after a
    start would never fire HighRequestTimeoutRate."""
    for route in (r for router in routers for r in router.routes):
        path = getattr(route, "path", None)
        if path is not None and path not in QUIET_PATHS:
            REQUEST_TIMEOUTS.labels(service, path)


def _publish_websockets(app: FastAPI, routers: Sequence[APIRouter]) -> None:
    """OpenAPI has no WebSocket routes: list them under `x-websockets` (path and path
    parameters), so whoever reads the contract (a client, the authorization audit) sees
    `/ws/calls/{call_id}` as well as the HTTP routes."""
    websockets = [
        {"path": route.path, "parameters": sorted(route.param_convertors)}
        for router in routers
        for route in router.routes
        if isinstance(route, WebSocketRoute)
    ]
    build = app.openapi

    def openapi() -> dict[str, Any]:
        document = build()
        document["x-websockets"] = websockets
        return document

    app.openapi = openapi  # type: ignore[method-assign]


@asynccontextmanager
async def no_resources(_: FastAPI) -> AsyncIterator[None]:
    yield


@asynccontextmanager
async def running(jobs: Mapping[str, Coroutine[Any, Any, None]]) -> AsyncIterator[None]:
    """A lifespan's background jobs (task name → coroutine): run while the block runs,
    then cancelled and awaited."""
    tasks = [asyncio.create_task(job, name=name) for name, job in jobs.items()]
    try:
        yield
    finally:
        for task in tasks:
            await stop(task)
