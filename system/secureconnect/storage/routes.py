"""HTTP routes of the files API: parse, authorize, call the service, shape the response."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse

from secureconnect.common.deps import CurrentUser
from secureconnect.common.openapi import errors
from secureconnect.storage.deps import StorageServiceDep
from secureconnect.storage.schemas import (
    CompletedOut,
    DownloadUrlOut,
    FileOut,
    FilesOut,
    QuotaOut,
    UploadUrlOut,
    UploadUrlRequest,
    file_out,
    quota_out,
    upload_url_out,
)

router = APIRouter(prefix="/api/v1/files")


@router.post("/upload-url", status_code=201)
async def upload_url(
    body: UploadUrlRequest, user: CurrentUser, service: StorageServiceDep
) -> UploadUrlOut:
    upload = await service.upload_url(user, body.filename, body.content_type, body.size)
    return upload_url_out(upload)


@router.get("")
async def list_files(user: CurrentUser, service: StorageServiceDep) -> FilesOut:
    return FilesOut(files=[file_out(record) for record in await service.list(user)])


@router.get("/quota")
async def quota(user: CurrentUser, service: StorageServiceDep) -> QuotaOut:
    return quota_out(await service.quota(user))


@router.get("/{file_id}")
async def get_file(file_id: uuid.UUID, user: CurrentUser, service: StorageServiceDep) -> FileOut:
    return file_out(await service.get(user, file_id))


@router.post("/{file_id}/complete", responses=errors(409))
async def complete(
    file_id: uuid.UUID, user: CurrentUser, service: StorageServiceDep
) -> CompletedOut:
    record = await service.complete(user, file_id)
    return CompletedOut(file_id=str(record.id), size=record.size)


@router.get("/{file_id}/download-url")
async def download_url(
    file_id: uuid.UUID, user: CurrentUser, service: StorageServiceDep
) -> DownloadUrlOut:
    url, expires_in = await service.download_url(user, file_id)
    return DownloadUrlOut(url=url, expires_in=expires_in)


@router.get("/{file_id}/content", responses=errors(403))
async def content(
    file_id: uuid.UUID,
    expires: Annotated[int, Query(ge=0, le=2**63 - 1)],
    signature: Annotated[str, Query(min_length=64, max_length=64, pattern="^[0-9a-fA-F]+$")],
    service: StorageServiceDep,
) -> StreamingResponse:
    """The decrypted bytes, for whoever holds a valid download link (no bearer token)."""
    record, plaintext = await service.content(file_id, expires, signature)
    headers = {
        "Content-Length": str(record.size),
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(record.filename)}",
        "Cache-Control": "private, no-store",
    }
    return StreamingResponse(plaintext, media_type=record.content_type, headers=headers)


@router.delete("/{file_id}", status_code=204)
async def delete_file(
    file_id: uuid.UUID, user: CurrentUser, service: StorageServiceDep
) -> Response:
    await service.delete(user, file_id)
    return Response(status_code=204)
