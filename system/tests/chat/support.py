"""Clients for the chat tests: users, REST calls and WebSocket event streams,
all against the real stack (through the gateway unless a test aims at one
chat instance on purpose)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

PASSWORD = "correct-Horse-battery-9"
#: Every wait on the system ends by this deadline, seconds.
EVENT_DEADLINE_S = 5.0
#: Registrations at once (argon2 is CPU-bound; the machine has two cores).
REGISTER_CONCURRENCY = 8


@dataclass(frozen=True)
class User:
    user_id: str
    email: str
    access_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def new_user(api: httpx.AsyncClient) -> User:
    email = f"chat-{uuid.uuid4().hex[:12]}@example.com"
    body = {"email": email, "password": PASSWORD, "display_name": "Chat Tester"}
    registered = await api.post("/api/v1/auth/register", json=body)
    assert registered.status_code == 201, registered.text
    login = await api.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return User(registered.json()["user_id"], email, login.json()["access_token"])


async def new_users(api: httpx.AsyncClient, count: int) -> list[User]:
    gate = asyncio.Semaphore(REGISTER_CONCURRENCY)

    async def one() -> User:
        async with gate:
            return await new_user(api)

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def new_conversation(
    api: httpx.AsyncClient, owner: User, others: list[User], kind: str = "group"
) -> str:
    body = {"type": kind, "title": "test", "participant_ids": [u.user_id for u in others]}
    response = await api.post("/api/v1/conversations", json=body, headers=owner.headers)
    assert response.status_code == 201, response.text
    return response.json()["conversation_id"]


async def send(
    api: httpx.AsyncClient, user: User, conversation_id: str, content: str, key: str | None = None
) -> httpx.Response:
    body = {"content": content, "client_msg_id": key or uuid.uuid4().hex}
    return await api.post(
        f"/api/v1/conversations/{conversation_id}/messages", json=body, headers=user.headers
    )


async def history(api: httpx.AsyncClient, user: User, conversation_id: str) -> list[dict]:
    """Every message of the conversation, newest first, following the cursor."""
    found: list[dict] = []
    before: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 100} | ({"before": before} if before else {})
        response = await api.get(
            f"/api/v1/conversations/{conversation_id}/messages", params=params, headers=user.headers
        )
        assert response.status_code == 200, response.text
        page = response.json()
        found += page["messages"]
        before = page["next_before"]
        if before is None:
            return found


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.text)
    error = response.json()["error"]
    assert error["message"], error
    if code is not None:
        assert error["code"] == code, error
    return error


def ws_url(base_url: str, token: str | None = None) -> str:
    url = base_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1) + "/ws"
    return url if token is None else f"{url}?token={token}"


class EventStream:
    """One user's `/ws` connection, read event by event with deadlines."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.ready: dict[str, Any] = {}
        #: Events read while looking for others, in order.
        self.passed: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, base_url: str, user: User) -> EventStream:
        """Connect and wait until the server registered the socket (its `ready` event)."""
        connection = await connect(ws_url(base_url, user.access_token), open_timeout=5)
        stream = cls(connection)
        stream.ready = await stream.next("ready")
        return stream

    async def next(
        self,
        event_type: str,
        where: Callable[[dict[str, Any]], bool] = lambda _: True,
        deadline_s: float = EVENT_DEADLINE_S,
    ) -> dict[str, Any]:
        """The data of the next `event_type` event matching `where`."""
        end = time.monotonic() + deadline_s
        while True:
            remaining = end - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {event_type} event within {deadline_s}s")
            try:
                async with asyncio.timeout(remaining):
                    event = json.loads(await self.connection.recv())
            except TimeoutError:
                raise AssertionError(f"no {event_type} event within {deadline_s}s") from None
            if event["type"] == event_type and where(event["data"]):
                return event["data"]
            self.passed.append(event)

    async def close(self) -> None:
        await self.connection.close()
