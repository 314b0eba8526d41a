"""The file flow of the API contract, a check per step (upload, download, delete, quota),
and the presigned upload URL."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from harness import ApiClient, EvidenceLog, Platform, check, one_check_each, require_components
from harness.checks import flows_files

#: Longest an upload URL may stay valid, seconds: long enough to send a file, short
#: enough that a leaked link (a log line, a browser history) is dead by the time it is read.
PRESIGNED_URL_MAX_TTL_S = 15 * 60


@pytest.mark.parametrize(
    "step",
    one_check_each(
        {"CORE-004": "upload", "CORE-023": "download", "CORE-024": "delete", "CORE-025": "quota"},
        "Files {item}: as API.md says, and nobody but the owner reaches the file",
        category="core",
        severity={"upload": "BLOCKER", "download": "BLOCKER", "delete": "HIGH", "quota": "HIGH"},
        finding="Storage flow: upload URL, upload, complete, download URL, delete, quota",
        fix="Implement the Files contract of API.md ({item}) with owner-only access.",
        impact="File {item} is broken: files come back corrupted, stay after deletion, reach "
        "other users, or outgrow the quota.",
    ),
)
def test_file_step(step: str, stack: Platform, api: ApiClient, evidence: EvidenceLog) -> None:
    require_components(stack.names(), "storage")
    flows_files.STEPS[step](flows_files.Owner.of(api), evidence)


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
