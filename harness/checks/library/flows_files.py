"""The file steps (upload, download, delete, quota), one check each: every step has its
owner upload what it needs and judges only itself.

    flows_files.STEPS["delete"](Owner.of(api), evidence)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.checks.evidence import EvidenceLog
from harness.clients.api import ApiClient, Session
from harness.clients.realtime import Files
from harness.errors import Inconclusive

FILE_BYTES = 256 * 1024
#: Size of each upload started (never sent) to fill the quota: below the largest file.
RESERVATION_BYTES = 64 * 1024 * 1024
#: Most uploads started to fill a quota; a larger quota makes the quota step unknown.
MAX_RESERVATIONS = 40


@dataclass
class Owner:
    """A user with files, and another user who must not reach them."""

    api: ApiClient
    session: Session
    other: Session

    @classmethod
    def of(cls, api: ApiClient) -> Owner:
        return cls(api, api.new_session(), api.new_session())

    @property
    def files(self) -> Files:
        return Files(self.api, self.session)

    def uploaded(self, data: bytes) -> str:
        completed = self.files.upload(data)
        assert completed.status_code == 200, f"complete answered {completed.status_code}"
        return str(completed.json()["file_id"])

    def quota(self) -> dict[str, Any]:
        answer = self.api.http.get("/api/v1/files/quota", headers=self.session.headers)
        assert answer.status_code == 200, f"quota answered {answer.status_code}"
        return dict(answer.json())

    def ask(self, who: Session, method: str, path: str) -> int:
        return self.api.http.request(method, path, headers=who.headers).status_code

    def reserve(self, size: int) -> int:
        """Start an upload of `size` bytes (sending none); the answer's status."""
        body = {"filename": "big.bin", "content_type": "application/zip", "size": size}
        path = "/api/v1/files/upload-url"
        return self.api.http.post(path, headers=self.session.headers, json=body).status_code


Step = Callable[[Owner, EvidenceLog], None]


def upload(owner: Owner, evidence: EvidenceLog) -> None:
    """A complete upload becomes an available file of its size; one that stopped half-way
    is not a file (complete answers 409)."""
    data = os.urandom(FILE_BYTES)
    file_id = owner.uploaded(data)
    listed = owner.api.http.get(f"/api/v1/files/{file_id}", headers=owner.session.headers)
    evidence.http("the uploaded file", listed)
    assert listed.json()["status"] == "available" and listed.json()["size"] == len(data)
    staged = owner.files.stage(data[: len(data) // 2], size=len(data))
    assert staged.status_code == 201, f"upload-url answered {staged.status_code}"
    completed = owner.files.complete(staged.json()["file_id"])
    evidence.http("complete of a truncated upload", completed)
    assert completed.status_code == 409, (
        f"complete of half the declared bytes answered {completed.status_code}, not 409"
    )


def download(owner: Owner, evidence: EvidenceLog) -> None:
    """The owner downloads the bytes uploaded, unchanged; another user gets no link (404)."""
    data = os.urandom(FILE_BYTES)
    file_id = owner.uploaded(data)
    assert owner.files.download(file_id) == data, "the downloaded bytes differ from the uploaded"
    other = owner.ask(owner.other, "GET", f"/api/v1/files/{file_id}/download-url")
    evidence.number("another user's download-url status", other)
    assert other == 404, f"another user asking for a download link got {other}"


def delete(owner: Owner, evidence: EvidenceLog) -> None:
    """Another user cannot delete (404); the owner's delete removes the file from the list,
    from reads and links, and gives its bytes back to the quota."""
    before = owner.quota()["used_bytes"]
    file_id = owner.uploaded(os.urandom(FILE_BYTES))
    path = f"/api/v1/files/{file_id}"
    assert owner.ask(owner.other, "DELETE", path) == 404, "another user deleted the file"
    assert owner.ask(owner.session, "DELETE", path) == 204, "the owner's delete failed"
    listed = owner.api.http.get("/api/v1/files", headers=owner.session.headers).json()["files"]
    after = {
        "read": owner.ask(owner.session, "GET", path),
        "download-url": owner.ask(owner.session, "GET", f"{path}/download-url"),
        "listed": any(f["file_id"] == file_id for f in listed),
        "used bytes back": owner.quota()["used_bytes"] == before,
    }
    evidence.note("after delete", str(after))
    expected = {"read": 404, "download-url": 404, "listed": False, "used bytes back": True}
    assert after == expected, after


def quota(owner: Owner, evidence: EvidenceLog) -> None:
    """Used bytes grow by what was uploaded; uploads in progress hold their size, so the
    uploads that fit in the free space start and the next one is refused (413) without
    reserving anything."""
    before = owner.quota()
    owner.uploaded(os.urandom(FILE_BYTES))
    used = owner.quota()
    evidence.note("quota before / after one upload", f"{before} / {used}")
    assert used["used_bytes"] == before["used_bytes"] + FILE_BYTES, "used bytes are wrong"
    fits = (used["limit_bytes"] - used["used_bytes"]) // RESERVATION_BYTES
    if fits > MAX_RESERVATIONS:
        raise Inconclusive(f"a quota of {used['limit_bytes']} bytes takes {fits} reservations")
    answers = [owner.reserve(RESERVATION_BYTES) for _ in range(fits + 1)]
    reserved = owner.quota()["reserved_bytes"]
    evidence.note("uploads started, in order", str(answers))
    evidence.number("reserved after them", reserved, "bytes")
    assert answers == [201] * fits + [413], f"{fits} uploads fit the free space: {answers}"
    assert reserved == fits * RESERVATION_BYTES, "a refused upload reserved space"


STEPS: dict[str, Step] = {
    "upload": upload,
    "download": download,
    "delete": delete,
    "quota": quota,
}
