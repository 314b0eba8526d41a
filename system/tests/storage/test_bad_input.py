"""Bad input to the files API: a clear 4xx with the API error body, never a 500."""

from __future__ import annotations

import uuid

import httpx
import pytest
from secureconnect.storage.settings import MAX_FILE_BYTES

from tests.helpers import assert_error
from tests.storage.files import FILES, Session

GOOD = {"filename": "report.pdf", "content_type": "application/pdf", "size": 10}


async def test_malformed_json_is_422(alice: Session) -> None:
    headers = {**alice.headers, "Content-Type": "application/json"}
    answer = await alice.client.post(f"{FILES}/upload-url", content=b'{"size": 1,', headers=headers)
    assert_error(answer, 422, "malformed_json")


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"size": -1}, 422, "validation_error"),
        ({"size": "10"}, 422, "validation_error"),
        ({"size": 1.5}, 422, "validation_error"),
        ({"size": None}, 422, "validation_error"),
        ({"size": 2**70}, 422, "validation_error"),
        ({"size": 10**15}, 413, "file_too_large"),
        ({"size": MAX_FILE_BYTES + 1}, 413, "file_too_large"),
        ({"filename": ""}, 422, "validation_error"),
        ({"filename": "../../etc/passwd"}, 422, "validation_error"),
        ({"filename": "a\nb"}, 422, "validation_error"),
        ({"filename": "x" * 256}, 422, "validation_error"),
        ({"content_type": "pdf"}, 422, "validation_error"),
        ({"content_type": "text/html; charset=utf-8"}, 422, "validation_error"),
        ({"filename": 7}, 422, "validation_error"),
    ],
)
async def test_bad_upload_requests(alice: Session, change: dict, status: int, code: str) -> None:
    answer = await alice.client.post(
        f"{FILES}/upload-url", json={**GOOD, **change}, headers=alice.headers
    )
    assert_error(answer, status, code)


async def test_missing_fields_are_named(alice: Session) -> None:
    answer = await alice.client.post(f"{FILES}/upload-url", json={}, headers=alice.headers)
    message = assert_error(answer, 422, "validation_error")["message"]
    assert all(field in message for field in ("filename", "content_type", "size"))


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", ""), ("POST", "/complete"), ("GET", "/download-url"), ("DELETE", "")],
)
async def test_unknown_and_malformed_file_ids(alice: Session, method: str, suffix: str) -> None:
    unknown = await alice.client.request(
        method, f"{FILES}/{uuid.uuid4()}{suffix}", headers=alice.headers
    )
    assert_error(unknown, 404, "not_found")
    malformed = await alice.client.request(
        method, f"{FILES}/not-a-file-id{suffix}", headers=alice.headers
    )
    assert_error(malformed, 422, "validation_error")


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"expires": "soon", "signature": "0" * 64},
        {"expires": "1", "signature": "not-hex"},
        {"expires": "-5", "signature": "0" * 64},
    ],
)
async def test_malformed_download_links(gateway: httpx.AsyncClient, params: dict) -> None:
    answer = await gateway.get(f"{FILES}/{uuid.uuid4()}/content", params=params)
    assert_error(answer, 422, "validation_error")


async def test_a_link_for_an_unknown_file_is_refused(gateway: httpx.AsyncClient) -> None:
    params = {"expires": "4102444800", "signature": "0" * 64}
    assert_error(await gateway.get(f"{FILES}/{uuid.uuid4()}/content", params=params), 403)


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-jwt", "Basic abc"])
async def test_without_a_valid_token_is_401(
    gateway: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    for method, path in (
        ("GET", FILES),
        ("GET", f"{FILES}/quota"),
        ("POST", f"{FILES}/upload-url"),
    ):
        answer = await gateway.request(method, path, headers=headers, json=GOOD)
        assert_error(answer, 401)
