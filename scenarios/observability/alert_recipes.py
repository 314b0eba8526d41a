"""How to make each alert of compose/prometheus/rules/ fire: one table, one incident a row.

A new rule comes with a row here (or joins an incident that fires it), or OBS-004
fails naming it. Each row names the services whose alerts it must fire; incidents
are ordered so that one's side effects never leave firing an alert that a later
incident must start afresh: slow stores time some of auth's requests out, which
fires auth's HighRequestTimeoutRate for five minutes, so it comes after auth hung.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from harness import ApiClient, FaultInjector, Files, Platform, Session, eventually, metric_sample
from harness.checks import alert_firing

#: Slow enough that every query lands above HighDBLatency's 500 ms p95...
DB_LATENCY_MS = 700
#: ...and every Redis command above HighRedisLatency's 200 ms p95, yet under the
#: services' 250 ms command and health-check timeouts, so Redis stays in use.
REDIS_LATENCY_MS = 150
#: Concurrent callers while the stores are slow: below the database pool's size.
SLOW_CALLERS = 8
#: A request slower than this was slowed by the fault.
SLOW_S = 0.5
#: Services leave Redis degraded mode a few health checks (0.5 s apart) after it returns.
REDIS_RECOVERY_S = 30.0


@dataclass
class AlertContext:
    """What a recipe's traffic reaches the stack with."""

    stack: Platform
    gateway_url: str
    api: ApiClient


async def _concurrent_me(gateway_url: str, token: str, count: int) -> list[httpx.Response]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30) as client:
        calls = [client.get("/api/v1/auth/me", headers=headers) for _ in range(count)]
        return list(await asyncio.gather(*calls))


class HungCalls:
    """Calls to a hung auth through the gateway: each one ends in the gateway's 504."""

    def __init__(self, context: AlertContext) -> None:
        self.gateway_url = context.gateway_url

    def prepare(self) -> None:
        return None

    def round(self, requests: int) -> int:
        answers = asyncio.run(_concurrent_me(self.gateway_url, "x", requests))
        return sum(a.status_code == 504 for a in answers)


class StorageCompletes:
    """Completing an uploaded file: storage asks S3 for the object."""

    def __init__(self, context: AlertContext) -> None:
        self.api = context.api

    def prepare(self) -> None:
        self.files = Files(self.api, self.api.new_session())
        staged = self.files.stage(os.urandom(1024))
        assert staged.status_code == 201, f"upload-url answered {staged.status_code}"
        self.file_id = staged.json()["file_id"]

    def round(self, requests: int) -> int:
        statuses = [self.files.complete(self.file_id).status_code for _ in range(requests)]
        return sum(status >= 500 for status in statuses)


class SignedInCalls:
    """Who-am-I calls of a signed-in user: the gateway's rate limit (Redis), auth's
    revocation check (Redis) and user lookup (PostgreSQL)."""

    def __init__(self, context: AlertContext) -> None:
        self.context = context
        self.auth_url = context.stack.endpoint("auth").url or ""

    def prepare(self) -> None:
        """Steady state first: Redis in use again after an earlier outage (a service
        still degraded would serve from memory and time no Redis command)."""
        urls = [self.auth_url, self.context.gateway_url]
        eventually(
            lambda: all(metric_sample(url, "redis_degraded_mode") == 0 for url in urls),
            REDIS_RECOVERY_S,
            what="auth and the gateway to leave Redis degraded mode",
        )
        self.session: Session = self.context.api.new_session()

    def round(self, requests: int) -> int:
        before = metric_sample(self.auth_url, "redis_fallback_total")
        calls = min(requests, SLOW_CALLERS)
        answers = asyncio.run(
            _concurrent_me(self.context.gateway_url, self.session.access_token, calls)
        )
        fallbacks = metric_sample(self.auth_url, "redis_fallback_total") - before
        slowed = sum(a.elapsed.total_seconds() >= SLOW_S for a in answers)
        return int(fallbacks) + slowed


@contextlib.contextmanager
def _slow_stores(faults: FaultInjector) -> Iterator[None]:
    with faults.latency("postgres", ms=DB_LATENCY_MS), faults.latency("redis", ms=REDIS_LATENCY_MS):
        yield


RECIPES: list[alert_firing.Recipe[AlertContext]] = [
    alert_firing.Recipe(
        "Redis down", ("RedisDegradedMode",), lambda f: f.cut("redis"), SignedInCalls
    ),
    alert_firing.Recipe(
        "S3 down",
        ("MinIOCircuitBreakerOpen", "BackupStale", "HighErrorRate"),
        lambda f: f.cut("s3"),
        StorageCompletes,
        services=("storage", "backup"),
    ),
    alert_firing.Recipe(
        "auth hung",
        ("ServiceDown", "HighRequestTimeoutRate"),
        lambda f: f.paused_process("auth"),
        HungCalls,
        services=("auth", "gateway"),
    ),
    alert_firing.Recipe(
        "slow stores",
        ("HighDBLatency", "HighRedisLatency", "HighHTTPLatency"),
        _slow_stores,
        SignedInCalls,
        services=("auth",),
    ),
]
