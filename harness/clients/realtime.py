"""Chat, polls and files through the gateway, and a WebSocket listener for `/ws` events.

Kept apart from `harness.clients.api` (auth) so each module stays small; both speak only
the public contract of docs/api.md.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect

from harness.clients.api import ApiClient, Session

EVENT_DEADLINE_S = 10.0


def _ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)


class Chat:
    """Chat and poll calls for one logged-in user."""

    def __init__(self, api: ApiClient, session: Session) -> None:
        self.http = api.http
        self.session = session

    def _post(self, path: str, body: Any = None) -> httpx.Response:
        return self.http.post(path, json=body, headers=self.session.headers)

    def _get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params, headers=self.session.headers)

    def conversation(self, *others: Session, title: str = "readiness") -> str:
        kind = "direct" if len(others) == 1 else "group"
        body = {"type": kind, "participant_ids": [o.user_id for o in others]}
        if kind == "group":
            body["title"] = title
        response = self._post("/api/v1/conversations", body)
        assert response.status_code == 201, f"create conversation: {response.status_code}"
        return str(response.json()["conversation_id"])

    def send(
        self, conversation_id: str, content: str, client_msg_id: str | None = None
    ) -> httpx.Response:
        body = {"content": content, "client_msg_id": client_msg_id or uuid.uuid4().hex}
        return self._post(f"/api/v1/conversations/{conversation_id}/messages", body)

    def history(self, conversation_id: str, limit: int = 100) -> list[dict[str, Any]]:
        """Every message of the conversation, following the `before` cursor to the end."""
        messages: list[dict[str, Any]] = []
        before: str | None = None
        while True:
            params: dict[str, Any] = {"limit": limit}
            if before:
                params["before"] = before
            page = self._get(f"/api/v1/conversations/{conversation_id}/messages", **params)
            assert page.status_code == 200, f"history: {page.status_code}"
            body = page.json()
            messages += body["messages"]
            before = body.get("next_before")
            if not before or not body["messages"]:
                return messages

    def typing(self, conversation_id: str) -> httpx.Response:
        return self._post(f"/api/v1/conversations/{conversation_id}/typing")

    def presence(self, user_id: str) -> httpx.Response:
        return self._get(f"/api/v1/presence/{user_id}")

    def create_poll(self, conversation_id: str, options: list[str], **flags: Any) -> dict[str, Any]:
        body = {"question": "Which option?", "options": options, **flags}
        response = self._post(f"/api/v1/conversations/{conversation_id}/polls", body)
        assert response.status_code == 201, f"create poll: {response.status_code}"
        return dict(response.json())

    def vote(self, poll_id: str, option_ids: list[str]) -> httpx.Response:
        return self._post(f"/api/v1/polls/{poll_id}/votes", {"option_ids": option_ids})

    def poll(self, poll_id: str) -> httpx.Response:
        return self._get(f"/api/v1/polls/{poll_id}")

    def close_poll(self, poll_id: str) -> httpx.Response:
        return self._post(f"/api/v1/polls/{poll_id}/close")


class EventListener:
    """A `/ws` connection held and read by a thread; events are awaited with a deadline."""

    def __init__(self, base_url: str, access_token: str) -> None:
        self.url = f"{_ws_url(base_url)}/ws?token={access_token}"
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.error: BaseException | None = None
        self._connected = threading.Event()
        self._closing = threading.Event()
        self._ended = threading.Event()
        #: (code, reason) of the close frame the server sent, once the socket ended.
        self.closed_with: tuple[int | None, str | None] | None = None
        self._connection: ClientConnection | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._connected.wait(EVENT_DEADLINE_S) or self.error is not None:
            raise AssertionError(f"/ws did not open within {EVENT_DEADLINE_S}s: {self.error}")

    def _read(self) -> None:
        try:
            with connect(self.url, open_timeout=EVENT_DEADLINE_S) as connection:
                self._connection = connection
                self._connected.set()
                try:
                    for raw in connection:
                        self.events.put(json.loads(raw))
                finally:
                    self.closed_with = (connection.close_code, connection.close_reason)
        except Exception as exc:  # kept: a waiting caller reports it with what it saw
            if not self._closing.is_set():
                self.error = exc
        finally:
            self._connected.set()
            self._ended.set()

    def wait_closed(self, deadline_s: float) -> tuple[int | None, str | None] | None:
        """The server's close (code, reason) once the socket ended; None if still open."""
        self._ended.wait(deadline_s)
        return self.closed_with

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], deadline_s: float = EVENT_DEADLINE_S
    ) -> dict[str, Any]:
        end = time.monotonic() + deadline_s
        while (left := end - time.monotonic()) > 0:
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append(event)
            if predicate(event):
                return event
        kinds = sorted({e.get("type", "?") for e in self.seen})
        problem = f"; the socket failed: {self.error!r}" if self.error else ""
        raise AssertionError(f"no matching event within {deadline_s}s (saw {kinds}){problem}")

    def close(self) -> None:
        self._closing.set()
        if self._connection is not None:
            self._connection.close()
        self._reader.join(timeout=5)

    def __enter__(self) -> EventListener:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class Files:
    """The file flow: presigned upload, complete, presigned download, delete."""

    def __init__(self, api: ApiClient, session: Session) -> None:
        self.http = api.http
        self.session = session

    def stage(
        self, data: bytes, filename: str = "readiness.bin", size: int | None = None
    ) -> httpx.Response:
        """Ask for an upload URL and PUT the bytes there; returns the upload-url answer.
        `size`: the size to declare, when it is not the bytes' (a truncated upload)."""
        created = self.http.post(
            "/api/v1/files/upload-url",
            headers=self.session.headers,
            json={
                "filename": filename,
                "content_type": "application/octet-stream",
                "size": len(data) if size is None else size,
            },
        )
        if created.status_code == 201:
            put = httpx.put(created.json()["upload_url"], content=data, timeout=30)
            assert put.status_code in (200, 204), f"PUT to the upload URL: {put.status_code}"
        return created

    def complete(self, file_id: str) -> httpx.Response:
        return self.http.post(f"/api/v1/files/{file_id}/complete", headers=self.session.headers)

    def upload(self, data: bytes, filename: str = "readiness.bin") -> httpx.Response:
        """Stage the bytes and complete the file; returns the completion (or the refusal)."""
        created = self.stage(data, filename)
        if created.status_code != 201:
            return created
        return self.complete(created.json()["file_id"])

    def download(self, file_id: str) -> bytes:
        answer = self.http.get(
            f"/api/v1/files/{file_id}/download-url", headers=self.session.headers
        )
        assert answer.status_code == 200, f"download-url answered {answer.status_code}"
        got = httpx.get(answer.json()["url"], timeout=30)
        assert got.status_code == 200, f"GET of the download URL answered {got.status_code}"
        return got.content
