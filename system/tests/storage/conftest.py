"""Fixtures of the storage suite: users with a client of the stack's gateway."""

from __future__ import annotations

import httpx
import pytest

from tests.storage.files import Session, new_user


@pytest.fixture
async def alice(gateway: httpx.AsyncClient) -> Session:
    return await new_user(gateway)


@pytest.fixture
async def bob(gateway: httpx.AsyncClient) -> Session:
    return await new_user(gateway)
