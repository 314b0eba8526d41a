"""Fixtures of every integration suite under system/tests.

The stack is the harness's: the `stack` fixture of its pytest plugin (registered
by the repository's root conftest) starts one LocalPlatform for the whole session,
or hands over the one `readiness run` started, and every suite shares it; `faults`
breaks it for one test and mends it afterwards. Unit tests ask for neither and
start nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from harness.platform.base import Platform
from tests.chat.support import User, new_user


def _client(stack: Platform, component: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=stack.endpoint(component).url or "", timeout=15)


@pytest.fixture
async def gateway(stack: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the stack's gateway, as an app would use it."""
    async with _client(stack, "gateway") as client:
        yield client


@pytest.fixture
async def auth(stack: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """A client straight to the auth service, no gateway in front."""
    async with _client(stack, "auth") as client:
        yield client


@pytest.fixture(scope="session")
def gateway_url(stack: Platform) -> str:
    url = stack.endpoint("gateway").url
    assert url is not None
    return url


@pytest.fixture
async def api(stack: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway client the chat and video suites make their users with."""
    async with _client(stack, "gateway") as client:
        yield client


@pytest.fixture
async def alice(api: httpx.AsyncClient) -> User:
    return await new_user(api)


@pytest.fixture
async def bob(api: httpx.AsyncClient) -> User:
    return await new_user(api)


@pytest.fixture
async def mallory(api: httpx.AsyncClient) -> User:
    """Shares no conversation with anyone in the test."""
    return await new_user(api)
