"""The owner's objects for the authorization audit, made through the public API.

A factory is keyed by the name of the parameter it fills (`conversation_id`,
`poll_id`, `option_ids`, `q`...), so any route that names the same parameter is
covered without a line of test code; a route whose id parameter has no factory
fails the audit, naming it. Objects are made lazily, at most once per scope: reads
share one scope, every write gets a fresh one, so closing a poll or deleting a file
never spoils the next route's request.

Every object's ids and the scope's marker (written into its titles, contents and
file names) become *fingerprints*: a refusal that carries one of them leaked data.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx

UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
T = TypeVar("T")


class Principal(Protocol):
    """A logged-in user (harness.Session is one)."""

    user_id: str

    @property
    def headers(self) -> dict[str, str]: ...


class Objects:
    """One scope of the owner's objects, each made at most once, on first use."""

    def __init__(
        self, http: httpx.Client, owner: Principal, peer: Principal, fingerprints: set[str]
    ) -> None:
        self.http = http
        self.owner = owner
        self.peer = peer
        self.fingerprints = fingerprints
        #: Letters and digits only: one search term, one token for full-text search.
        self.marker = f"authz{secrets.token_hex(6)}"
        fingerprints.update({self.marker, owner.user_id, peer.user_id})
        self._made: dict[str, Any] = {}

    def once(self, kind: str, make: Callable[[], T]) -> T:
        if kind not in self._made:
            self._made[kind] = make()
        made: T = self._made[kind]
        return made

    def create(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        """The owner's request; its answer's ids become fingerprints."""
        answer = self.http.request(method, path, json=body, headers=self.owner.headers)
        assert answer.is_success, (
            f"making the owner's object: {method} {path} answered {answer.status_code} "
            f"{answer.text[:200]}"
        )
        self.fingerprints.update(UUID.findall(answer.text))
        made: dict[str, Any] = answer.json() if answer.content else {}
        return made


@dataclass(frozen=True)
class Factory:
    make: Callable[[Objects], Any]
    #: A secret that only the owner holds (a download link's signature): outsiders
    #: send the schema's own minimal value instead, as a forger would.
    capability: bool = False


def conversation(o: Objects) -> dict[str, Any]:
    body = {"type": "group", "title": o.marker, "participant_ids": [o.peer.user_id]}
    return o.once("conversation", lambda: o.create("POST", "/api/v1/conversations", body))


def message(o: Objects) -> dict[str, Any]:
    path = f"/api/v1/conversations/{conversation(o)['conversation_id']}/messages"
    body = {"content": o.marker, "client_msg_id": o.marker}
    return o.once("message", lambda: o.create("POST", path, body))


def poll(o: Objects) -> dict[str, Any]:
    path = f"/api/v1/conversations/{conversation(o)['conversation_id']}/polls"
    body = {"question": o.marker, "options": ["yes", "no"]}
    return o.once("poll", lambda: o.create("POST", path, body))


def call(o: Objects) -> dict[str, Any]:
    body = {"conversation_id": conversation(o)["conversation_id"], "media": "audio"}
    return o.once("call", lambda: o.create("POST", "/api/v1/calls", body))


def file(o: Objects) -> dict[str, Any]:
    def upload() -> dict[str, Any]:
        data = o.marker.encode()
        staged = o.create(
            "POST",
            "/api/v1/files/upload-url",
            {"filename": f"{o.marker}.txt", "content_type": "text/plain", "size": len(data)},
        )
        put = o.http.put(staged["upload_url"], content=data)
        assert put.is_success, f"PUT of the owner's file answered {put.status_code}"
        return o.create("POST", f"/api/v1/files/{staged['file_id']}/complete")

    return o.once("file", upload)


def download_link(o: Objects) -> dict[str, str]:
    """The query of the owner's download URL (expires, signature)."""

    def link() -> dict[str, str]:
        url = o.create("GET", f"/api/v1/files/{file(o)['file_id']}/download-url")["url"]
        return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}

    return o.once("download_link", link)


FACTORIES: Mapping[str, Factory] = {
    "conversation_id": Factory(lambda o: conversation(o)["conversation_id"]),
    "message_id": Factory(lambda o: message(o)["message_id"]),
    "before": Factory(lambda o: message(o)["message_id"]),
    "poll_id": Factory(lambda o: poll(o)["poll_id"]),
    "option_ids": Factory(lambda o: [poll(o)["options"][0]["option_id"]]),
    "call_id": Factory(lambda o: call(o)["call_id"]),
    "file_id": Factory(lambda o: file(o)["file_id"]),
    "user_id": Factory(lambda o: o.owner.user_id),
    "q": Factory(lambda o: message(o)["content"]),
    "expires": Factory(lambda o: download_link(o)["expires"], capability=True),
    "signature": Factory(lambda o: download_link(o)["signature"], capability=True),
}

#: Id parameters that anyone may name, with the contract's reason.
UNBOUND_IDS: Mapping[str, str] = {
    "participant_ids": "anyone may start a conversation with any user (API.md: conversations)",
    "client_msg_id": "a key the sender picks for their own message (idempotency), no reference",
}
