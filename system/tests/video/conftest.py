"""Fixtures of the video tests: the whole local stack from the harness (coturn,
S3, chat for conversations and events, video behind the gateway), an API
client, users, a conversation, and the video service's own settings for the
tests that run its logic in-process with a clock they move."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from secureconnect.video.settings import VideoSettings

from harness.platform.base import Platform
from tests.chat.support import User, new_conversation
from tests.helpers import database_settings


@pytest.fixture(scope="session")
def video_url(stack: Platform) -> str:
    url = stack.endpoint("video").url
    assert url is not None
    return url


@pytest.fixture
async def video(video_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """Straight to the video service (metrics, the test-only debug endpoint)."""
    async with httpx.AsyncClient(base_url=video_url, timeout=10) as client:
        yield client


@pytest.fixture
async def conversation(api: httpx.AsyncClient, alice: User, bob: User) -> str:
    return await new_conversation(api, alice, [bob], kind="direct")


@pytest.fixture
def settings(stack: Platform) -> VideoSettings:
    """The video service's settings for this stack, for in-process instances."""
    redis_host, redis_port = str(stack.endpoint("redis").proxy_listen).rsplit(":", 1)
    return VideoSettings(
        **database_settings(stack),
        redis_host=redis_host,
        redis_port=int(redis_port),
        redis_password=stack.secret("redis_password"),
        turn_secret=stack.secret("turn_secret"),
        turn_urls=[f"turn:{stack.endpoint('coturn').address}?transport=udp"],
    )
