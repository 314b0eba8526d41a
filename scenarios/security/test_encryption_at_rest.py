"""What S3 stores is ciphertext: a file's plaintext is nowhere in the bucket."""

from __future__ import annotations

import os

from harness import (
    AddressOf,
    ApiClient,
    EvidenceLog,
    Files,
    Platform,
    check,
    eventually,
    require_components,
)
from harness.checks import storage

ENCRYPTION_DEADLINE_S = 30.0


@check(
    "SEC-008",
    "Files are encrypted at rest: no stored object holds an upload's plaintext",
    category="security",
    severity="MEDIUM",
    finding="MEDIUM-10: no data encryption at rest",
    fix="Encrypt objects (server-side, or envelope encryption with a key from a secret file).",
    impact="A leaked disk, backup or bucket exposes users' files in clear.",
)
def test_objects_are_ciphertext(
    stack: Platform, proxied: AddressOf, api: ApiClient, evidence: EvidenceLog
) -> None:
    require_components(stack.names(), "storage")
    owner = api.new_session()
    marker = b"PLAINTEXT-MARKER-" + os.urandom(16).hex().encode()
    completed = Files(api, owner).upload(marker * 64)
    file_id = completed.json()["file_id"]

    def encrypted() -> bool:
        answer = api.http.get(f"/api/v1/files/{file_id}", headers=owner.headers)
        return bool(answer.json().get("encrypted_at_rest"))

    eventually(encrypted, ENCRYPTION_DEADLINE_S, what="the file being encrypted at rest")
    host, port = proxied("s3")
    stored = storage.stored_objects(
        f"{host}:{port}", stack.secret("s3_access_key"), stack.secret("s3_secret_key")
    )
    leaking = storage.holding(stored, marker)
    evidence.number("objects inspected", len(stored))
    evidence.note("objects holding the plaintext", ", ".join(leaking) or "none")
    assert stored, "the bucket is empty: where did the file go?"
    assert not leaking, f"plaintext stored in {leaking}"
