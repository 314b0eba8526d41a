"""The shared app stack in-process: budget, body limit, headers, request id, errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from secureconnect.common.app import create_app, no_resources
from secureconnect.common.errors import DomainError
from secureconnect.common.metrics import REQUEST_TIMEOUTS
from secureconnect.common.middleware import SECURITY_HEADERS
from secureconnect.common.settings import ServiceSettings

from tests.helpers import assert_error

BUDGET_S = 0.2
UNWIND_S = 1.0
MAX_BODY = 1024
never = asyncio.Event()
router = APIRouter()


class Item(BaseModel):
    name: str
    count: int


@router.get("/hang")
async def hang() -> None:
    await never.wait()


@router.get("/slow-to-unwind")
async def slow_to_unwind() -> None:
    # Like SQLAlchemy closing a cancelled connection: cleanup shielded from the cancel.
    try:
        await never.wait()
    finally:
        await asyncio.shield(asyncio.sleep(UNWIND_S))


@router.get("/stream")
async def stream() -> StreamingResponse:
    # A download whose body takes longer than the budget: started, it is not cut.
    async def pieces() -> AsyncIterator[bytes]:
        for _ in range(3):
            await asyncio.sleep(BUDGET_S)
            yield b"piece;"

    return StreamingResponse(pieces())


@router.post("/items")
async def items(item: Item) -> Item:
    return item


@router.get("/boom")
async def boom() -> None:
    raise RuntimeError("a bug")


@router.get("/limited")
async def limited() -> None:
    raise DomainError(429, "rate_limited", "slow down", retry_after=2.5)


def build() -> FastAPI:
    settings = ServiceSettings(
        environment="test",
        service_name="unit-mw",
        request_timeout_s=BUDGET_S,
        max_body_bytes=MAX_BODY,
    )
    return create_app(settings, lifespan=no_resources, routers=[router])


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://unit") as client:
        yield client


async def test_budget_exceeded_is_504_and_counted(client: httpx.AsyncClient):
    counter = REQUEST_TIMEOUTS.labels("unit-mw", "/hang")
    before = counter._value.get()
    response = await client.get("/hang")
    assert_error(response, 504, "request_timeout")
    assert counter._value.get() == before + 1
    assert response.headers["x-frame-options"] == "DENY"


async def test_budget_wins_over_an_app_slow_to_unwind(client: httpx.AsyncClient):
    loop = asyncio.get_running_loop()
    started = loop.time()
    response = await client.get("/slow-to-unwind")
    assert_error(response, 504, "request_timeout")
    assert loop.time() - started < BUDGET_S + UNWIND_S / 2


async def test_a_started_response_streams_past_the_budget(client: httpx.AsyncClient):
    response = await client.get("/stream")
    assert response.status_code == 200 and response.content == b"piece;" * 3


async def test_exactly_the_seven_security_headers(client: httpx.AsyncClient):
    response = await client.get("/health")
    for name, value in SECURITY_HEADERS:
        assert response.headers.get_list(name.decode()) == [value.decode()]
    assert len(SECURITY_HEADERS) == 7


async def test_request_id_kept_or_generated(client: httpx.AsyncClient):
    assert (await client.get("/health", headers={"X-Request-ID": "abc-1"})).headers[
        "x-request-id"
    ] == "abc-1"
    generated = (await client.get("/health", headers={"X-Request-ID": "bad id;<script>"})).headers[
        "x-request-id"
    ]
    assert len(generated) == 32 and generated != "bad id"


async def test_body_limit_declared_and_streamed(client: httpx.AsyncClient):
    big = b'{"name": "' + b"x" * (MAX_BODY * 2) + b'", "count": 1}'
    assert_error(await client.post("/items", content=big), 413, "payload_too_large")

    async def stream() -> AsyncIterator[bytes]:
        for i in range(0, len(big), 256):
            yield big[i : i + 256]

    assert_error(await client.post("/items", content=stream()), 413, "payload_too_large")
    ok = await client.post("/items", json={"name": "a", "count": 2})
    assert ok.status_code == 200 and ok.json() == {"name": "a", "count": 2}


async def test_validation_and_unexpected_errors_use_the_error_body(client: httpx.AsyncClient):
    assert_error(
        await client.post("/items", content=b"{", headers={"Content-Type": "application/json"}),
        422,
        "malformed_json",
    )
    error = assert_error(await client.post("/items", json={"name": "a", "count": "many"}), 422)
    assert "count" in error["message"]
    assert_error(await client.get("/boom"), 500, "internal_error")
    assert_error(await client.get("/missing"), 404, "not_found")
    limited = await client.get("/limited")
    assert assert_error(limited, 429, "rate_limited")["retry_after"] == 3
    assert limited.headers["retry-after"] == "3"
