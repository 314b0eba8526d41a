"""The files model: uploads completed, uploads whose bytes never came (refused),
downloads compared byte for byte, deletes, the file list and the quota, with S3,
PostgreSQL and Redis failing under the operations."""

from __future__ import annotations

import secrets

import httpx
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, rule

from harness.checks.library.stateful import ModelMachine, begin_run
from harness.clients.realtime import Files

SIZES = (1, 1000, 70_000)
FILE_FAULTS = (None, "s3 cut", "s3 slow", "s3 flaky", "postgres flaky", "redis cut")
DOWNLOAD_TIMEOUT_S = 30.0


class FileMachine(ModelMachine):
    @initialize()
    def owner(self) -> None:
        begin_run(self.context)
        api = self.context.api
        #: A fresh owner per run: the quota starts at zero.
        self.files = Files(api, self.checked("set-up", api.new_session))
        #: file id → its bytes, for every file the model says is available.
        self.stored: dict[str, bytes] = {}
        self.upload(SIZES[1], None)  # every run starts with a file to act on

    def _staged(self, size: int, data: bytes) -> str:
        """An upload URL (declaring `size`), the bytes PUT there; the file id."""
        name = f"model-{secrets.token_hex(3)}.bin"
        answer = self.checked("upload", lambda: self.files.stage(data, name, size=size))
        self.expect(answer.status_code == 201, f"upload-url: {answer.status_code}")
        return str(answer.json()["file_id"])

    @rule(size=st.sampled_from(SIZES), fault=st.sampled_from(FILE_FAULTS))
    def upload(self, size: int, fault: str | None) -> None:
        data = secrets.token_bytes(size)
        file_id = self._staged(size, data)
        answer = self.write(fault, lambda: self.files.complete(file_id))
        self.expect(answer is not None and answer.status_code == 200, f"complete: {answer}")
        self.stored[file_id] = data

    @rule(size=st.sampled_from(SIZES), fault=st.sampled_from(FILE_FAULTS))
    def upload_without_bytes(self, size: int, fault: str | None) -> None:
        """Completing a file whose bytes never came is refused, and it never appears."""
        file_id = self._staged(size, b"")
        answer = self.write(fault, lambda: self.files.complete(file_id))
        self.expect(
            answer is not None and answer.status_code == 409,
            f"complete without bytes: {answer and answer.status_code}",
        )

    @rule(pick=st.integers(0, 63), fault=st.sampled_from(FILE_FAULTS))
    def download(self, pick: int, fault: str | None) -> None:
        if not self.stored:
            return  # no precondition: see ModelMachine
        file_id = list(self.stored)[pick % len(self.stored)]
        http, headers = self.files.http, self.files.session.headers
        path = f"/api/v1/files/{file_id}/download-url"
        link = self.write(fault, lambda: http.get(path, headers=headers))
        self.expect(link is not None and link.status_code == 200, f"download-url: {link}")
        assert link is not None
        body = httpx.get(link.json()["url"], timeout=DOWNLOAD_TIMEOUT_S)
        self.expect(body.status_code == 200, f"download: {body.status_code}")
        self.expect(body.content == self.stored[file_id], f"{file_id}: other bytes came back")

    @rule(pick=st.integers(0, 63), fault=st.sampled_from(FILE_FAULTS))
    def delete(self, pick: int, fault: str | None) -> None:
        if not self.stored:
            return
        file_id = list(self.stored)[pick % len(self.stored)]
        http, headers = self.files.http, self.files.session.headers
        answer = self.write(fault, lambda: http.delete(f"/api/v1/files/{file_id}", headers=headers))
        assert answer is not None
        # 404 on a retry: the attempt the fault hid had deleted it.
        self.expect(answer.status_code in (204, 404), f"delete: {answer.status_code}")
        del self.stored[file_id]

    @invariant()
    def files_and_quota_match_the_model(self) -> None:
        if not hasattr(self, "stored"):
            return
        http, headers = self.files.http, self.files.session.headers
        listed = self.read(lambda: http.get("/api/v1/files", headers=headers)).json()["files"]
        available = {f["file_id"]: f["size"] for f in listed if f["status"] == "available"}
        model = {file_id: len(data) for file_id, data in self.stored.items()}
        self.expect(available == model, f"files {available}, model {model}")
        quota = self.read(lambda: http.get("/api/v1/files/quota", headers=headers)).json()
        used = sum(model.values())
        self.expect(quota["used_bytes"] == used, f"quota used {quota['used_bytes']}, model {used}")
