"""Request and response bodies of the files API (see API.md), and the shaping of
responses from what the service returns."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from secureconnect.common.text import file_name
from secureconnect.storage.service import Quota, Upload
from secureconnect.storage.store import FileRecord

#: A filename: printable, no path separators, at most 255 characters.
Filename = file_name(255)
#: A MIME type such as "image/png" (parameters are not accepted).
ContentType = Annotated[
    str, StringConstraints(max_length=127, pattern=r"^[A-Za-z0-9][\w.+-]*/[A-Za-z0-9][\w.+-]*$")
]
#: Bytes; beyond 64 bits is malformed rather than merely too large.
Size = Annotated[int, Field(ge=0, le=2**63 - 1, strict=True)]


class UploadUrlRequest(BaseModel):
    filename: Filename
    content_type: ContentType
    size: Size


class UploadUrlOut(BaseModel):
    file_id: str
    upload_url: str
    expires_in: int
    method: Literal["PUT"] = "PUT"


class CompletedOut(BaseModel):
    file_id: str
    size: int
    status: Literal["available"] = "available"


class DownloadUrlOut(BaseModel):
    url: str
    expires_in: int


class FileOut(BaseModel):
    file_id: str
    filename: str
    content_type: str
    size: int
    status: Literal["pending", "available"]
    #: False between `complete` and the end of the encryption job (seconds at most).
    encrypted_at_rest: bool
    created_at: datetime


class FilesOut(BaseModel):
    files: list[FileOut]


class QuotaOut(BaseModel):
    used_bytes: int
    limit_bytes: int
    #: Declared sizes of uploads in progress, held against the quota until they complete or lapse.
    reserved_bytes: int


def upload_url_out(upload: Upload) -> UploadUrlOut:
    return UploadUrlOut(
        file_id=str(upload.file_id), upload_url=upload.url, expires_in=upload.expires_in
    )


def file_out(record: FileRecord) -> FileOut:
    return FileOut(
        file_id=str(record.id),
        filename=record.filename,
        content_type=record.content_type,
        size=record.size,
        status=record.status,  # type: ignore[arg-type]
        encrypted_at_rest=record.object_key is not None,
        created_at=record.created_at,
    )


def quota_out(quota: Quota) -> QuotaOut:
    return QuotaOut(
        used_bytes=quota.used_bytes,
        limit_bytes=quota.limit_bytes,
        reserved_bytes=quota.reserved_bytes,
    )
