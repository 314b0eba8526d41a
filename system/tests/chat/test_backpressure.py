"""A client that stops reading is dropped (close code 4429, counted), and
neither the senders nor the other clients wait for it."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import socket
import time
from urllib.parse import urlsplit

import httpx
from secureconnect.chat.hub import SEND_TIMEOUT_S
from secureconnect.chat.schemas import MAX_MESSAGE_CHARS

from tests.chat.support import User, new_conversation, send
from tests.helpers import eventually

#: Enough 4 kB events to fill the kernel's buffers (a few MB on loopback) and the queue.
MESSAGES = 1000
SENDERS = 20
#: Sends must not be slowed by the stuck client: each is answered within this, seconds.
SEND_BUDGET_S = 2.0
#: The stuck client's receive buffer, bytes: its window closes fast.
TINY_RECEIVE_BUFFER = 4096
PADDING = "x" * (MAX_MESSAGE_CHARS - 10)


async def slow_consumer_drops(base_url: str) -> float:
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
        text = (await client.get("/metrics")).text
    found = re.search(
        r'^chat_websocket_closes_total\{[^}]*reason="slow_consumer"[^}]*\} (\S+)$', text, re.M
    )
    return float(found.group(1)) if found else 0.0


async def stuck_client(base_url: str, token: str) -> socket.socket:
    """A WebSocket client that completes the handshake and then never reads."""
    address = urlsplit(base_url)
    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, TINY_RECEIVE_BUFFER)
    stuck.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(stuck, (address.hostname, address.port))
    handshake = (
        f"GET /ws?token={token} HTTP/1.1\r\nHost: {address.netloc}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n"
    )
    await loop.sock_sendall(stuck, handshake.encode())
    return stuck


async def test_a_stuck_client_is_dropped_without_stalling_anyone(
    api: httpx.AsyncClient, alice: User, bob: User, instance_urls, streams
):
    chat_1 = instance_urls["chat-1"]
    conversation = await new_conversation(api, alice, [bob])
    fast = await streams(chat_1, alice)
    dropped_before = await slow_consumer_drops(chat_1)
    stuck = await stuck_client(chat_1, bob.access_token)
    gate = asyncio.Semaphore(SENDERS)
    received: set[str] = set()

    async def one(direct: httpx.AsyncClient, index: int) -> None:
        async with gate:
            started = time.monotonic()
            answer = await send(direct, alice, conversation, f"{index:04}" + PADDING)
            assert answer.status_code == 201, answer.text
            assert time.monotonic() - started < SEND_BUDGET_S

    async def read_all() -> None:
        while len(received) < MESSAGES:
            received.add((await fast.next("message.new"))["content"][:4])

    try:
        async with httpx.AsyncClient(base_url=chat_1, timeout=10) as direct:
            reader = asyncio.create_task(read_all())
            await asyncio.gather(*(one(direct, i) for i in range(MESSAGES)))
            await reader
        assert received == {f"{i:04}" for i in range(MESSAGES)}

        async def dropped() -> bool:
            return await slow_consumer_drops(chat_1) > dropped_before

        await eventually(dropped, SEND_TIMEOUT_S + 5, "the stuck client dropped")
    finally:
        stuck.close()
