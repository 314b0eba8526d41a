"""Ready-made readiness dependencies for the shared resources."""

from __future__ import annotations

import asyncio

import httpx

from secureconnect.common.db import Database
from secureconnect.common.health import Dependency, DependencyState
from secureconnect.common.resilient_redis import ResilientRedis

#: Budget to open a TCP connection in a probe, seconds.
TCP_PROBE_TIMEOUT_S = 1.0


def database_dependency(db: Database, name: str = "postgres") -> Dependency:
    async def check() -> DependencyState:
        return DependencyState.OK if await db.ping() else DependencyState.DOWN

    return Dependency(name, check, required=True)


def redis_dependency(redis: ResilientRedis, name: str = "redis") -> Dependency:
    """Redis has an in-memory fallback: degraded, never down."""

    async def check() -> DependencyState:
        return DependencyState.DEGRADED if redis.degraded else DependencyState.OK

    return Dependency(name, check, required=False)


def tcp_dependency(name: str, host: str, port: int, *, required: bool) -> Dependency:
    async def check() -> DependencyState:
        try:
            async with asyncio.timeout(TCP_PROBE_TIMEOUT_S):
                _, writer = await asyncio.open_connection(host, port)
        except (OSError, TimeoutError):
            return DependencyState.DOWN
        writer.close()
        return DependencyState.OK

    return Dependency(name, check, required=required)


def http_dependency(
    name: str, client: httpx.AsyncClient, url: str, *, required: bool
) -> Dependency:
    """OK when GET `url` (a service's /health) answers 200."""

    async def check() -> DependencyState:
        try:
            response = await client.get(url, timeout=TCP_PROBE_TIMEOUT_S)
        except httpx.HTTPError:
            return DependencyState.DOWN
        return DependencyState.OK if response.status_code == 200 else DependencyState.DOWN

    return Dependency(name, check, required=required)
