"""/health, /ready, /metrics on each service; logs are one JSON object per line."""

from __future__ import annotations

import json

import httpx
import pytest

from harness.platform.base import Platform
from tests.helpers import eventually

LOG_DEADLINE_S = 5.0

EXPECTED_DEPENDENCIES = {
    "auth": {"postgres", "redis", "smtp"},
    # The stack runs two chat instances: the gateway checks each one.
    "gateway": {"redis", "auth", "chat-1", "chat-2", "video", "storage"},
}


@pytest.mark.parametrize("name", ["auth", "gateway"])
async def test_probes(stack: Platform, name: str):
    async with httpx.AsyncClient(base_url=stack.endpoint(name).url or "") as client:
        health = await client.get("/health")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        ready = await client.get("/ready")
        body = ready.json()
        assert set(body["dependencies"]) == EXPECTED_DEPENDENCIES[name]
        for dependency in body["dependencies"].values():
            assert dependency["state"] in {"ok", "degraded", "down"}
        assert ready.status_code == 200, body  # the backends that are down are optional
        metrics = (await client.get("/metrics")).text
        for family in (
            "http_requests_total",
            "http_request_duration_seconds",
            "request_timeout_total",
            "redis_degraded_mode",
            "redis_health_check_total",
            "redis_command_duration_seconds",
        ):
            assert f"# TYPE {family} " in metrics
        assert (
            f'http_requests_total{{method="GET",route="/health",service="{name}",status="200"}}'
            in metrics
        )


async def test_auth_reports_db_metrics(auth: httpx.AsyncClient):
    await auth.post("/api/v1/auth/login", json={"email": "nobody@example.com", "password": "x"})
    assert "db_query_duration_seconds_bucket" in (await auth.get("/metrics")).text


@pytest.mark.parametrize("name", ["auth", "gateway"])
async def test_logs_are_json_lines(stack: Platform, name: str):
    async with httpx.AsyncClient(base_url=stack.endpoint(name).url or "") as client:
        await client.get("/api/v1/auth/me", headers={"X-Request-ID": f"logs-{name}"})

    async def access_logged() -> list[dict]:
        # The access line is written once the response is out: await it.
        records = [json.loads(line) for line in stack.logs(name).splitlines()]
        return records if any(r.get("request_id") == f"logs-{name}" for r in records) else []

    records = await eventually(access_logged, LOG_DEADLINE_S, "access log line")
    assert all(r["service"] == name and "request_id" in r and "level" in r for r in records)
    line = next(r for r in records if r["request_id"] == f"logs-{name}")
    assert line["message"] == "request" and line["status"] == 401
    assert not any(r["logger"] == "httpx" for r in records)  # no second line per request


@pytest.mark.parametrize(
    ("name", "period"),
    [
        ("chat-1", "presence_refresh"),
        ("chat-1", "typing_timeout"),
        ("auth", "redis_health_check"),
        ("storage", "s3_breaker_reset"),
        ("gateway", "request_budget"),
    ],
)
async def test_policy_periods_are_published(stack: Platform, name: str, period: str):
    """Deadlines of the readiness checks are derived from these, never guessed."""
    async with httpx.AsyncClient(base_url=stack.endpoint(name).url or "") as client:
        metrics = (await client.get("/metrics")).text
    lines = [line for line in metrics.splitlines() if f'period="{period}"' in line]
    assert len(lines) == 1 and lines[0].startswith("policy_period_seconds{"), lines
    assert float(lines[0].rsplit(" ", 1)[1]) > 0
