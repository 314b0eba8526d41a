"""Fixtures of the chat tests: the whole local stack from the harness (two chat
instances behind the gateway), an API client, users and event streams."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from harness.platform.base import Platform
from tests.chat.support import EventStream, User, new_users

CHAT_INSTANCES = ("chat-1", "chat-2")


@pytest.fixture(scope="session")
def instance_urls(stack: Platform) -> dict[str, str]:
    return {name: str(stack.endpoint(name).url) for name in CHAT_INSTANCES}


@pytest.fixture
def users(api: httpx.AsyncClient) -> Callable[[int], Awaitable[list[User]]]:
    return lambda count: new_users(api, count)


@pytest.fixture
async def streams() -> AsyncIterator[Callable[[str, User], Awaitable[EventStream]]]:
    """Open event streams (to a base URL, as a user); all closed after the test."""
    opened: list[EventStream] = []

    async def open_stream(base_url: str, user: User) -> EventStream:
        stream = await EventStream.open(base_url, user)
        opened.append(stream)
        return stream

    yield open_stream
    for stream in opened:
        await stream.close()
