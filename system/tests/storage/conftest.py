"""Fixtures of the storage suite: the real platform, users, and a gateway client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from harness.platform.base import Platform
from tests.storage.files import Session, new_user
from tests.storage.platform import session_platform


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest) -> Platform:
    return session_platform(request.config)


@pytest.fixture
async def gateway(stack: Platform) -> AsyncIterator[httpx.AsyncClient]:
    url = stack.endpoint("gateway").url
    async with httpx.AsyncClient(base_url=url or "", timeout=15.0) as client:
        yield client


@pytest.fixture
async def alice(gateway: httpx.AsyncClient) -> Session:
    return await new_user(gateway)


@pytest.fixture
async def bob(gateway: httpx.AsyncClient) -> Session:
    return await new_user(gateway)
