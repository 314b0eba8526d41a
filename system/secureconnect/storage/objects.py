"""File bytes in S3: plaintext uploads in, encrypted objects at rest, plaintext out.

`uploads/<file id>` is where the client PUTs through its presigned URL;
`files/<file id>/<version>` holds the encrypted object. Each encryption
writes its own version, so two racing encryptions never overwrite each
other's ciphertext: the database row names the one that won.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

from minio import Minio
from minio.error import S3Error
from urllib3 import BaseHTTPResponse

from secureconnect.common.errors import DomainError
from secureconnect.common.s3 import ResilientS3, is_missing
from secureconnect.storage.envelope import Decryptor, EncryptingReader, ciphertext_size

#: Bytes read from S3 per step while streaming a download.
READ_CHUNK_BYTES = 1024 * 1024


def staging_key(file_id: uuid.UUID) -> str:
    return f"uploads/{file_id}"


def new_object_key(file_id: uuid.UUID) -> str:
    return f"files/{file_id}/{uuid.uuid4().hex}"


def upload_missing() -> DomainError:
    return DomainError(409, "upload_missing", "nothing was uploaded to the upload URL yet")


def size_mismatch(stored: int, declared: int) -> DomainError:
    return DomainError(
        409, "size_mismatch", f"the uploaded object has {stored} bytes, {declared} were declared"
    )


class ObjectStore:
    def __init__(self, s3: ResilientS3, bucket: str, presigner: Minio | None = None) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.presigner = presigner

    def upload_url(self, key: str, ttl_s: float) -> str:
        return self.s3.presign("PUT", self.bucket, key, ttl_s, client=self.presigner)

    async def check_upload(self, key: str, size: int) -> None:
        """409 unless the upload exists with exactly `size` bytes (one HEAD)."""
        client, bucket = self.s3.client, self.bucket

        def work() -> int:
            try:
                return client.stat_object(bucket, key).size or 0
            except S3Error as exc:
                if is_missing(exc):
                    raise upload_missing() from exc
                raise

        stored = await self.s3.call("stat_object", work)
        if stored != size:
            raise size_mismatch(stored, size)

    async def encrypt_upload(
        self, source_key: str, size: int, dek: bytes, file_id: uuid.UUID, target_key: str
    ) -> None:
        """Read the upload, check its size, write it back encrypted under `target_key`."""
        client, bucket = self.s3.client, self.bucket

        def work() -> None:
            try:
                response = client.get_object(bucket, source_key)
            except S3Error as exc:
                if is_missing(exc):
                    raise upload_missing() from exc
                raise
            try:
                stored = int(response.headers.get("content-length", -1))
                if stored != size:
                    raise size_mismatch(stored, size)
                reader = EncryptingReader(response, size, dek, file_id.bytes)  # type: ignore[arg-type]
                client.put_object(
                    bucket,
                    target_key,
                    reader,  # type: ignore[arg-type]
                    length=ciphertext_size(size),
                    content_type="application/octet-stream",
                )
            finally:
                _release(response)

        await self.s3.call("encrypt_object", work)

    async def decrypted(
        self, key: str, dek: bytes, file_id: uuid.UUID, size: int
    ) -> AsyncIterator[bytes]:
        """Open the encrypted object; its plaintext, authenticated segment by segment."""
        response = await self._open(key)
        decryptor = Decryptor(dek, file_id.bytes, size)
        return self._stream(response, decryptor.feed, decryptor.finish)

    async def uploaded(self, key: str, size: int) -> AsyncIterator[bytes]:
        """The upload as the client sent it (a file completed, its encryption still running)."""
        response = await self._open(key)
        stored = int(response.headers.get("content-length", -1))
        if stored != size:
            _release(response)
            raise size_mismatch(stored, size)
        return self._stream(response, lambda chunk: [chunk], lambda: None)

    async def _open(self, key: str) -> BaseHTTPResponse:
        return await self.s3.get_object("get_object", self.bucket, key, file_missing)

    async def _stream(
        self,
        response: BaseHTTPResponse,
        transform: Callable[[bytes], list[bytes]],
        finish: Callable[[], None],
    ) -> AsyncIterator[bytes]:
        try:
            while chunk := await self.s3.run_blocking(
                "read_object", lambda: response.read(READ_CHUNK_BYTES)
            ):
                for piece in transform(chunk):
                    yield piece
            finish()
        finally:
            _release(response)

    async def remove(self, key: str) -> None:
        await self.s3.remove(self.bucket, key)


def file_missing() -> DomainError:
    return DomainError(404, "not_found", "no such file")


def _release(response: BaseHTTPResponse) -> None:
    response.close()
    response.release_conn()
