"""A small real FastAPI app of notes, with or without authorization holes, for the
authorization matrix's tests.

Users authenticate with `Authorization: Bearer <name>`. The healthy routes answer
401 without a token and 404 to anyone but a note's owner. The holes: a route that
shows any user any note, one that answers anonymous callers 404 instead of 401, one
whose id has no factory, a list of every note, a signed link that takes any
signature and a WebSocket that accepts anyone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, HTTPException, WebSocket
from pydantic import BaseModel

from harness.checks.library.authz_objects import Factory, Objects

USERS = {"owner": str(uuid.uuid4()), "peer": str(uuid.uuid4()), "outsider": str(uuid.uuid4())}
Token = Annotated[str | None, Header()]


@dataclass(frozen=True)
class User:
    user_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def user(name: str) -> User:
    return User(USERS[name], name)


class NewNote(BaseModel):
    text: str


def caller(authorization: str | None) -> str | None:
    name = (authorization or "").removeprefix("Bearer ")
    return USERS.get(name)


def notes_app(holes: bool) -> FastAPI:
    notes: dict[str, dict[str, str]] = {}
    router = APIRouter(prefix="/api/v1")

    def owned(note_id: uuid.UUID, authorization: str | None) -> dict[str, str]:
        who = caller(authorization)
        if who is None:
            raise HTTPException(401, "a token is required")
        note = notes.get(str(note_id))
        if note is None or note["owner_id"] != who:
            raise HTTPException(404, "note not found")
        return note

    @router.post("/notes", status_code=201)
    def create(body: NewNote, authorization: Token = None) -> dict[str, str]:
        who = caller(authorization)
        if who is None:
            raise HTTPException(401, "a token is required")
        note = {"note_id": str(uuid.uuid4()), "owner_id": who, "text": body.text}
        notes[note["note_id"]] = note
        return note

    @router.get("/notes/{note_id}")
    def read(note_id: uuid.UUID, authorization: Token = None) -> dict[str, str]:
        return owned(note_id, authorization)

    @router.delete("/notes/{note_id}", status_code=204)
    def delete(note_id: uuid.UUID, authorization: Token = None) -> None:
        notes.pop(owned(note_id, authorization)["note_id"])

    @router.get("/notes")
    def mine(authorization: Token = None) -> dict[str, Any]:
        who = caller(authorization)
        if who is None:
            raise HTTPException(401, "a token is required")
        return {"notes": [n for n in notes.values() if n["owner_id"] == who]}

    if holes:
        _add_holes(router, notes)
    app = FastAPI()
    app.include_router(router)
    _add_socket(app, notes, holes)
    return app


def _add_holes(router: APIRouter, notes: dict[str, dict[str, str]]) -> None:
    @router.get("/leaky/{note_id}")
    def leaky(note_id: uuid.UUID, authorization: Token = None) -> dict[str, str]:
        if caller(authorization) is None:
            raise HTTPException(401, "a token is required")
        return notes[str(note_id)]  # no owner check

    @router.get("/careless/{note_id}")
    def careless(note_id: uuid.UUID, authorization: Token = None) -> dict[str, str]:
        note = notes.get(str(note_id))  # no token check: anonymous gets 404, not 401
        if note is None or note["owner_id"] != caller(authorization):
            raise HTTPException(404, "note not found")
        return note

    @router.get("/widgets/{widget_id}")
    def widget(widget_id: uuid.UUID, authorization: Token = None) -> dict[str, str]:
        return {"widget_id": str(widget_id)}

    @router.get("/everything")
    def everything(authorization: Token = None) -> dict[str, Any]:
        if caller(authorization) is None:
            raise HTTPException(401, "a token is required")
        return {"notes": list(notes.values())}

    @router.get("/shared/{note_id}")
    def shared(note_id: uuid.UUID, signature: str) -> dict[str, str]:
        return notes[str(note_id)]  # any signature will do


def _add_socket(app: FastAPI, notes: dict[str, dict[str, str]], holes: bool) -> None:
    @app.websocket("/ws/notes/{note_id}")
    async def follow(websocket: WebSocket, note_id: str) -> None:
        await websocket.accept()
        note = notes.get(note_id, {})
        if not holes and note.get("owner_id") != caller(websocket.headers.get("authorization")):
            await websocket.close(code=4404)
            return
        await websocket.send_json(note)
        await websocket.close()

    build = app.openapi

    def openapi() -> dict[str, Any]:
        document = build()
        document["x-websockets"] = [{"path": "/ws/notes/{note_id}", "parameters": ["note_id"]}]
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def note(o: Objects) -> dict[str, Any]:
    return o.once("note", lambda: o.create("POST", "/api/v1/notes", {"text": o.marker}))


NOTE_FACTORIES = {
    "note_id": Factory(lambda o: note(o)["note_id"]),
    "signature": Factory(lambda o: "signed-by-the-owner", capability=True),
}
