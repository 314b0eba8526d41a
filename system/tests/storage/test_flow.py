"""The files API end to end, through the gateway, on the real stack (S3 with SigV4)."""

from __future__ import annotations

import os
import time
import uuid

import httpx
from secureconnect.common.clock import ManualClock
from secureconnect.common.s3 import ResilientS3
from secureconnect.common.settings import S3Settings
from secureconnect.storage.envelope import MasterKey, ciphertext_size
from secureconnect.storage.links import LinkSigner
from secureconnect.storage.objects import ObjectStore, staging_key
from secureconnect.storage.service import DOWNLOAD_URL_TTL_S, UPLOAD_URL_TTL_S
from secureconnect.storage.settings import DEFAULT_QUOTA_BYTES, MAX_FILE_BYTES

from harness.platform.base import Platform
from tests.helpers import assert_error, eventually
from tests.storage.files import (
    BUCKET,
    FILES,
    Session,
    download,
    put_object,
    request_upload,
    s3_direct,
    stored_objects,
    upload,
)


async def test_upload_download_list_delete_with_ciphertext_at_rest(
    alice: Session, stack: Platform
) -> None:
    file_id, data = await upload(alice, os.urandom(200_000))
    assert await download(alice, file_id) == data

    async def encrypted() -> bool:
        about = await alice.client.get(f"{FILES}/{file_id}", headers=alice.headers)
        return about.json()["encrypted_at_rest"]

    await eventually(encrypted, 10, "the completed upload encrypted at rest")
    s3 = s3_direct(stack)
    [key] = stored_objects(s3, f"files/{file_id}/")
    at_rest = s3.get_object(BUCKET, key).read()
    assert len(at_rest) == ciphertext_size(len(data)) and data[:64] not in at_rest
    assert stored_objects(s3, staging_key(uuid.UUID(file_id))) == []  # plaintext gone
    assert await download(alice, file_id) == data  # now decrypted on the way out

    listing = (await alice.client.get(FILES, headers=alice.headers)).json()["files"]
    assert [(f["file_id"], f["size"], f["status"]) for f in listing] == [
        (file_id, len(data), "available")
    ]
    quota = (await alice.client.get(f"{FILES}/quota", headers=alice.headers)).json()
    assert quota == {
        "used_bytes": len(data),
        "limit_bytes": DEFAULT_QUOTA_BYTES,
        "reserved_bytes": 0,
    }

    deleted = await alice.client.delete(f"{FILES}/{file_id}", headers=alice.headers)
    assert deleted.status_code == 204
    assert_error(await alice.client.get(f"{FILES}/{file_id}", headers=alice.headers), 404)
    assert stored_objects(s3, f"files/{file_id}/") == []
    quota = (await alice.client.get(f"{FILES}/quota", headers=alice.headers)).json()
    assert quota["used_bytes"] == 0


async def test_an_empty_file_round_trips(alice: Session) -> None:
    file_id, _ = await upload(alice, b"")
    assert await download(alice, file_id) == b""


async def test_complete_checks_the_uploaded_object(alice: Session) -> None:
    grant = (await request_upload(alice, 1000)).json()
    complete = f"{FILES}/{grant['file_id']}/complete"
    assert_error(await alice.client.post(complete, headers=alice.headers), 409, "upload_missing")
    link = f"{FILES}/{grant['file_id']}/download-url"
    assert_error(await alice.client.get(link, headers=alice.headers), 409, "not_completed")
    await put_object(grant["upload_url"], b"x" * 999)
    assert_error(await alice.client.post(complete, headers=alice.headers), 409, "size_mismatch")
    await put_object(grant["upload_url"], b"y" * 1000)
    first = await alice.client.post(complete, headers=alice.headers)
    again = await alice.client.post(complete, headers=alice.headers)
    assert first.status_code == again.status_code == 200
    assert (
        first.json()
        == again.json()
        == {
            "file_id": grant["file_id"],
            "size": 1000,
            "status": "available",
        }
    )


async def test_tampered_or_expired_upload_urls_are_refused_by_s3(
    alice: Session, stack: Platform
) -> None:
    grant = (await request_upload(alice, 10)).json()
    url: str = grant["upload_url"]
    other_key = url.replace(grant["file_id"], str(uuid.uuid4()))
    signature = url.rsplit("X-Amz-Signature=", 1)[1]
    flipped = url.replace(signature, signature[:-1] + ("0" if signature[-1] != "0" else "1"))
    for tampered in (other_key, flipped):
        refused = await put_object(tampered, b"0123456789")
        assert refused.status_code == 403, refused.text

    # The service's own presigning, with its clock an hour behind: a URL that expired.
    settings = S3Settings(
        s3_endpoint=f"http://{stack.endpoint('s3').proxy_listen}",
        s3_access_key=stack.secret("s3_access_key"),
        s3_secret_key=stack.secret("s3_secret_key"),
    )
    s3 = ResilientS3(settings, "test-expired-url", ManualClock(time.time() - 3600))
    try:
        expired = ObjectStore(s3, BUCKET).upload_url(staging_key(uuid.uuid4()), UPLOAD_URL_TTL_S)
    finally:
        await s3.close()
    refused = await put_object(expired, b"0123456789")
    assert refused.status_code == 403 and "expired" in refused.text, refused.text

    complete = f"{FILES}/{grant['file_id']}/complete"
    assert_error(await alice.client.post(complete, headers=alice.headers), 409, "upload_missing")


async def test_tampered_or_expired_download_links_are_refused(
    alice: Session, stack: Platform
) -> None:
    file_id, _ = await upload(alice, b"secret bytes")
    link = (await alice.client.get(f"{FILES}/{file_id}/download-url", headers=alice.headers)).json()
    assert link["expires_in"] == DOWNLOAD_URL_TTL_S
    url = httpx.URL(link["url"])
    base = str(url.copy_with(query=None))
    expires, signature = url.params["expires"], url.params["signature"]
    async with httpx.AsyncClient(timeout=10) as anonymous:
        for params in (
            {"expires": str(int(expires) + 3600), "signature": signature},
            {"expires": expires, "signature": signature[::-1]},
        ):
            assert_error(await anonymous.get(base, params=params), 403, "invalid_signature")
        other = str(url.copy_with(query=None)).replace(file_id, str(uuid.uuid4()))
        assert_error(await anonymous.get(other, params=url.params), 403, "invalid_signature")
        master = MasterKey.from_secret(stack.secret("storage_encryption_key"))
        past = LinkSigner(master.url_key, ManualClock(time.time() - 3600))
        old_expires, old_signature = past.sign(uuid.UUID(file_id), DOWNLOAD_URL_TTL_S)
        params = {"expires": str(old_expires), "signature": old_signature}
        assert_error(await anonymous.get(base, params=params), 403, "link_expired")


async def test_another_user_cannot_get_download_complete_or_delete(
    alice: Session, bob: Session
) -> None:
    file_id, data = await upload(alice)
    pending = (await request_upload(alice, 10)).json()["file_id"]
    for method, path in (
        ("GET", f"{FILES}/{file_id}"),
        ("GET", f"{FILES}/{file_id}/download-url"),
        ("POST", f"{FILES}/{pending}/complete"),
        ("DELETE", f"{FILES}/{file_id}"),
    ):
        answer = await bob.client.request(method, path, headers=bob.headers)
        assert_error(answer, 404, "not_found")
    assert (await bob.client.get(FILES, headers=bob.headers)).json() == {"files": []}
    assert await download(alice, file_id) == data


async def test_over_quota_is_413_and_reserves_nothing(alice: Session) -> None:
    too_big = await request_upload(alice, MAX_FILE_BYTES + 1)
    assert_error(too_big, 413, "file_too_large")
    reservations = DEFAULT_QUOTA_BYTES // MAX_FILE_BYTES
    for _ in range(reservations):
        assert (await request_upload(alice, MAX_FILE_BYTES)).status_code == 201
    before = (await alice.client.get(f"{FILES}/quota", headers=alice.headers)).json()
    assert before["reserved_bytes"] == reservations * MAX_FILE_BYTES

    room = DEFAULT_QUOTA_BYTES - reservations * MAX_FILE_BYTES
    assert_error(await request_upload(alice, room + 1), 413, "quota_exceeded")
    after = (await alice.client.get(f"{FILES}/quota", headers=alice.headers)).json()
    assert after == before
    listing = (await alice.client.get(FILES, headers=alice.headers)).json()["files"]
    assert len(listing) == reservations

    assert (await request_upload(alice, room)).status_code == 201  # exactly full still fits
    assert_error(await request_upload(alice, 1), 413, "quota_exceeded")
