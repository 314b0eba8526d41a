"""Bad input gets a clear 4xx (or a close code on /ws) and stores nothing."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
from secureconnect.chat.schemas import MAX_MESSAGE_CHARS
from secureconnect.chat.ws import MAX_CLIENT_FRAME_BYTES
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.chat.support import (
    EVENT_DEADLINE_S,
    User,
    assert_error,
    history,
    new_conversation,
    send,
    ws_url,
)


async def test_bad_messages_are_refused_and_not_stored(
    api: httpx.AsyncClient, alice: User, bob: User
):
    conversation = await new_conversation(api, alice, [bob])
    url = f"/api/v1/conversations/{conversation}/messages"
    refused = {
        "empty": {"content": "", "client_msg_id": "a"},
        "blank": {"content": " \n\t ", "client_msg_id": "b"},
        "too long": {"content": "x" * (MAX_MESSAGE_CHARS + 1), "client_msg_id": "c"},
        "no key": {"content": "hello"},
        "bad key": {"content": "hello", "client_msg_id": "has spaces"},
        "not text": {"content": 42, "client_msg_id": "d"},
    }
    for case, body in refused.items():
        error = assert_error(await api.post(url, json=body, headers=alice.headers), 422)
        assert error["code"] == "validation_error", (case, error)
    huge = {"content": "x" * 200_000, "client_msg_id": "e"}
    assert_error(await api.post(url, json=huge, headers=alice.headers), 413, "payload_too_large")
    as_json = {**alice.headers, "content-type": "application/json"}
    broken = await api.post(url, content=b'{"content": "hi', headers=as_json)
    assert_error(broken, 422, "malformed_json")
    assert await history(api, bob, conversation) == []


async def test_unknown_and_malformed_ids(api: httpx.AsyncClient, alice: User, bob: User):
    unknown = uuid.uuid4()
    assert_error(await send(api, alice, str(unknown), "hello?"), 404, "conversation_not_found")
    assert_error(
        await api.get(f"/api/v1/conversations/{unknown}/messages", headers=alice.headers),
        404,
        "conversation_not_found",
    )
    assert_error(await send(api, alice, "not-a-uuid", "hello?"), 422, "validation_error")
    assert_error(
        await api.post(
            f"/api/v1/messages/{unknown}/reactions", json={"emoji": "👍"}, headers=alice.headers
        ),
        404,
        "message_not_found",
    )
    assert_error(await api.get(f"/api/v1/polls/{unknown}", headers=alice.headers), 404)
    conversation = await new_conversation(api, alice, [bob])
    stale_cursor = await api.get(
        f"/api/v1/conversations/{conversation}/messages",
        params={"before": str(unknown)},
        headers=alice.headers,
    )
    assert_error(stale_cursor, 400, "invalid_cursor")


async def test_bad_conversations_reactions_and_searches(
    api: httpx.AsyncClient, alice: User, bob: User, mallory: User
):
    create = "/api/v1/conversations"
    three = {"type": "direct", "participant_ids": [bob.user_id, mallory.user_id]}
    assert_error(await api.post(create, json=three, headers=alice.headers), 422)
    ghost = {"type": "group", "participant_ids": [str(uuid.uuid4())]}
    assert_error(
        await api.post(create, json=ghost, headers=alice.headers), 422, "unknown_participant"
    )
    kind = {"type": "channel", "participant_ids": [bob.user_id]}
    assert_error(await api.post(create, json=kind, headers=alice.headers), 422)

    conversation = await new_conversation(api, alice, [bob])
    message = (await send(api, alice, conversation, "hi")).json()["message_id"]
    spaced = {"emoji": "thumbs up"}
    assert_error(
        await api.post(f"/api/v1/messages/{message}/reactions", json=spaced, headers=bob.headers),
        422,
    )
    for q in ("", "x" * 201):
        search = await api.get("/api/v1/search/messages", params={"q": q}, headers=bob.headers)
        assert_error(search, 422)
    assert_error(await api.get(create, headers={"Authorization": "Bearer nope"}), 401)
    assert (await history(api, bob, conversation))[0]["reactions"] == {}


async def _closed_by(url: str, frame: str | bytes) -> tuple[int, str]:
    async with connect(url, open_timeout=5) as connection:
        assert json.loads(await connection.recv())["type"] == "ready"
        await connection.send(frame)
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(EVENT_DEADLINE_S):
                while True:
                    await connection.recv()
    assert closed.value.rcvd is not None, "closed without a close frame"
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def test_malformed_frames_close_the_socket_with_a_reason(
    api: httpx.AsyncClient, gateway_url: str, instance_urls, alice: User, bob: User
):
    conversation = await new_conversation(api, alice, [bob])
    cases: dict[str, tuple[str | bytes, int]] = {
        "binary": (b"\x00\x01", 1003),
        "not json": ("{typing", 1007),
        "unknown type": (json.dumps({"type": "send", "content": "x"}), 1003),
        "not an object": (json.dumps(["typing"]), 1007),
        "bad id": (json.dumps({"type": "typing", "conversation_id": "nope"}), 1007),
        "too big": (json.dumps({"type": "ping", "pad": "x" * MAX_CLIENT_FRAME_BYTES}), 1009),
    }
    for case, (frame, expected) in cases.items():
        for base in (gateway_url, instance_urls["chat-1"]):
            code, reason = await _closed_by(ws_url(base, alice.access_token), frame)
            assert code == expected, (case, base, code, reason)
            assert reason, (case, "no reason given")
    assert await history(api, bob, conversation) == []


async def test_a_refused_frame_gets_an_error_event_and_the_socket_stays(
    api: httpx.AsyncClient, instance_urls, alice: User, mallory: User, streams
):
    theirs = await new_conversation(api, alice, [])
    stream = await streams(instance_urls["chat-2"], mallory)
    await stream.connection.send(json.dumps({"type": "typing", "conversation_id": theirs}))
    error = await stream.next("error")
    assert error["code"] == "conversation_not_found"
    await stream.connection.send(json.dumps({"type": "ping"}))
    assert await stream.next("pong") == {}
