"""Small helpers shared by the integration tests."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
from secureconnect.common.settings import Environment

from harness.platform.base import Platform
from harness.platform.components.datastores import APP_DATABASE, APP_ROLE

T = TypeVar("T")
PASSWORD = "correct-Horse-battery-9"


def unique_email() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@example.com"


async def eventually(
    probe: Callable[[], Awaitable[T]], deadline_s: float, what: str, interval_s: float = 0.05
) -> T:
    """Await `probe` until it returns something truthy; fail after the deadline."""
    end = time.monotonic() + deadline_s
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"{what}: not within {deadline_s}s")
        await asyncio.sleep(interval_s)


async def register(client: httpx.AsyncClient, email: str | None = None) -> dict:
    email = email or unique_email()
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "display_name": "Test User"},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def login(client: httpx.AsyncClient, email: str) -> dict:
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()


async def new_session(client: httpx.AsyncClient) -> tuple[str, dict]:
    email = (await register(client))["email"]
    return email, await login(client, email)


def bearer(tokens: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def metric(text: str, name: str, **labels: str) -> float | None:
    """Value of one sample in Prometheus text format, None if absent."""
    for line in text.splitlines():
        match = re.match(rf"^{name}\{{(.*)\}} (\S+)$", line)
        if not match:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group(2))
    return None


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


async def verification_token(capture_url: str, email: str) -> str | None:
    """The token of the verification mail the stack's capture server received for `email`."""
    async with httpx.AsyncClient(base_url=capture_url, timeout=5) as capture:
        answer = await capture.get("/messages", params={"to": email})
    answer.raise_for_status()
    for message in answer.json()["messages"]:
        found = re.search(r"Verification token: (\S+)", message["text"])
        if found:
            return found.group(1)
    return None


def database_settings(stack: Platform) -> dict[str, Any]:
    """Settings fields that reach the stack's PostgreSQL as the services do (through
    Toxiproxy, as the app role, TLS verified), for in-process service instances."""
    host, port = str(stack.endpoint("postgres").proxy_listen).rsplit(":", 1)
    return {
        "environment": Environment.TEST,
        "db_host": host,
        "db_port": int(port),
        "db_name": APP_DATABASE,
        "db_user": APP_ROLE,
        "db_password": stack.secret("db_password"),
        "db_ssl_ca_file": stack.ca_certificate(),
    }
