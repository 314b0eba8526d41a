"""The file flow of the API contract: presigned upload, complete, download, privacy, quota."""

from __future__ import annotations

import os
from urllib.parse import parse_qs, urlsplit

import httpx

from harness import ApiClient, EvidenceLog, Files, Platform, check, require_components

#: Longest an upload URL may stay valid, seconds: long enough to send a file, short
#: enough that a leaked link (a log line, a browser history) is dead by the time it is read.
PRESIGNED_URL_MAX_TTL_S = 15 * 60


@check(
    "CORE-004",
    "Files: uploaded bytes come back identical; a truncated upload is refused; others get 404",
    category="core",
    severity="BLOCKER",
    finding="Storage flow: upload URL, upload, complete, download URL, delete, quota",
    fix="Implement the Files contract of API.md with owner-only access.",
    impact="Uploaded files come back corrupted, or other users can download them.",
)
def test_file_flow(stack: Platform, api: ApiClient, evidence: EvidenceLog) -> None:
    require_components(stack.names(), "storage")
    owner, other = api.new_session(), api.new_session()
    files = Files(api, owner)
    data = os.urandom(256 * 1024)
    completed = files.upload(data)
    evidence.http("complete", completed)
    assert completed.status_code == 200, f"complete answered {completed.status_code}"
    file_id = completed.json()["file_id"]
    assert files.download(file_id) == data, "the downloaded bytes differ from the uploaded"
    outsider = {
        "download-url": api.http.get(
            f"/api/v1/files/{file_id}/download-url", headers=other.headers
        ).status_code,
        "delete": api.http.delete(f"/api/v1/files/{file_id}", headers=other.headers).status_code,
    }
    evidence.note("another user's attempts", str(outsider))
    assert outsider == {"download-url": 404, "delete": 404}, outsider
    quota = api.http.get("/api/v1/files/quota", headers=owner.headers).json()
    evidence.note("quota after one file", str(quota))
    too_big = api.http.post(
        "/api/v1/files/upload-url",
        headers=owner.headers,
        json={
            "filename": "huge.bin",
            "content_type": "application/zip",
            "size": quota["limit_bytes"] + 1,
        },
    )
    assert too_big.status_code == 413, f"over quota answered {too_big.status_code}"
    after = api.http.get("/api/v1/files/quota", headers=owner.headers).json()
    assert after["used_bytes"] == quota["used_bytes"], "a refused upload reserved space"
    assert api.http.delete(f"/api/v1/files/{file_id}", headers=owner.headers).status_code == 204
    _truncated_upload_is_refused(files, data, evidence)


def _truncated_upload_is_refused(files: Files, data: bytes, evidence: EvidenceLog) -> None:
    """An upload that stopped half-way is not a file: complete answers 409."""
    staged = files.stage(data[: len(data) // 2], size=len(data))
    assert staged.status_code == 201, f"upload-url answered {staged.status_code}"
    completed = files.complete(staged.json()["file_id"])
    evidence.http("complete of a truncated upload", completed)
    assert completed.status_code == 409, (
        f"complete of half the declared bytes answered {completed.status_code}, not 409"
    )


@check(
    "CORE-005",
    "A presigned upload URL is short-lived, and refused by the S3 server once tampered with",
    category="core",
    severity="HIGH",
    finding="Storage: presigned URLs are signed and expire",
    fix="Presign with the S3 credentials and a short expiry.",
    impact="Whoever alters a signed link can read or overwrite other objects in storage; a link "
    "that lives for days is a standing capability for whoever finds it in a log or a history.",
)
def test_tampered_upload_url_is_refused(
    stack: Platform, api: ApiClient, evidence: EvidenceLog
) -> None:
    require_components(stack.names(), "storage")
    owner = api.new_session()
    created = api.http.post(
        "/api/v1/files/upload-url",
        headers=owner.headers,
        json={"filename": "a.bin", "content_type": "application/octet-stream", "size": 4},
    )
    assert created.status_code == 201, f"upload-url answered {created.status_code}"
    url, expires_in = created.json()["upload_url"], created.json()["expires_in"]
    query = parse_qs(urlsplit(url).query)
    assert "X-Amz-Signature" in query, f"the upload URL is not presigned: {url}"
    lifetime = int(query.get("X-Amz-Expires", ["0"])[0])
    evidence.number("upload URL lifetime (X-Amz-Expires)", lifetime, "s")
    assert lifetime == expires_in, f"X-Amz-Expires {lifetime}s, expires_in {expires_in}s"
    assert 0 < lifetime <= PRESIGNED_URL_MAX_TTL_S, (
        f"the upload URL lives {lifetime}s, more than {PRESIGNED_URL_MAX_TTL_S}s"
    )
    signature = query["X-Amz-Signature"][0]
    forged = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    tampered = httpx.put(url.replace(signature, forged), content=b"evil", timeout=10)
    evidence.http("PUT with a tampered signature", tampered)
    assert tampered.status_code == 403, f"a tampered URL answered {tampered.status_code}"
    # The refusal is about the signature only if the URL as signed is accepted.
    genuine = httpx.put(url, content=b"good", timeout=10)
    evidence.http("PUT with the URL as signed", genuine)
    assert genuine.status_code in (200, 204), f"the URL as signed answered {genuine.status_code}"
