"""Probes: /health (the process answers), /ready (its dependencies), /metrics.

Each service registers its dependencies as `Dependency(name, check,
required)`. A check returns ok / degraded / down. /ready answers 503 only
when a *required* dependency is down; a dependency running on a declared
fallback reports `degraded` and keeps the service ready.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from secureconnect.common.metrics import metrics_endpoint

#: Budget for each dependency check inside /ready, seconds.
READY_CHECK_TIMEOUT_S = 1.5


class DependencyState(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"


@dataclass(frozen=True)
class Dependency:
    name: str
    check: Callable[[], Awaitable[DependencyState]]
    required: bool = True


async def _state_of(dependency: Dependency) -> DependencyState:
    try:
        async with asyncio.timeout(READY_CHECK_TIMEOUT_S):
            return await dependency.check()
    except Exception:  # a probe that breaks reports the dependency down, never a 500
        return DependencyState.DOWN


async def readiness(service: str, dependencies: list[Dependency]) -> tuple[int, dict[str, object]]:
    states = await asyncio.gather(*(_state_of(d) for d in dependencies))
    report = {
        d.name: {"state": str(state), "required": d.required}
        for d, state in zip(dependencies, states, strict=True)
    }
    if any(
        d.required and s is DependencyState.DOWN for d, s in zip(dependencies, states, strict=True)
    ):
        overall = DependencyState.DOWN
    elif any(s is not DependencyState.OK for s in states):
        overall = DependencyState.DEGRADED
    else:
        overall = DependencyState.OK
    status = 503 if overall is DependencyState.DOWN else 200
    return status, {"status": str(overall), "service": service, "dependencies": report}


probes = APIRouter()


@probes.get("/health", include_in_schema=False)
async def health(request: Request) -> dict[str, str]:
    return {"status": "ok", "service": request.app.state.settings.service_name}


@probes.get("/ready", include_in_schema=False)
async def ready(request: Request) -> JSONResponse:
    status, body = await readiness(
        request.app.state.settings.service_name, request.app.state.dependencies
    )
    return JSONResponse(body, status_code=status)


probes.add_api_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)
