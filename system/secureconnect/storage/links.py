"""Signed download links: the storage service's own presigned URLs.

Objects at rest are ciphertext, so a download cannot be a presigned S3 GET;
it is a URL of the decrypting route, `/api/v1/files/<id>/content`, carrying
`expires` (epoch seconds) and `signature` = HMAC-SHA256(url key,
"<file id>.<expires>"), the url key being derived from the master secret.
Like an S3 presigned URL it is a short-lived bearer capability: whoever
holds it may fetch that one file until it expires; changing any part of it
breaks the signature.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid

from secureconnect.common.clock import Clock
from secureconnect.common.errors import DomainError


class LinkSigner:
    def __init__(self, key: bytes, clock: Clock) -> None:
        self._key = key
        self.clock = clock

    def _signature(self, file_id: uuid.UUID, expires: int) -> str:
        message = f"{file_id}.{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def sign(self, file_id: uuid.UUID, ttl_s: int) -> tuple[int, str]:
        """(expires, signature) for a link valid `ttl_s` seconds from now."""
        expires = int(self.clock.now()) + ttl_s
        return expires, self._signature(file_id, expires)

    def verify(self, file_id: uuid.UUID, expires: int, signature: str) -> None:
        expected = self._signature(file_id, expires)
        if not hmac.compare_digest(expected, signature.lower()):
            raise DomainError(403, "invalid_signature", "the download link is not valid")
        if expires <= self.clock.now():
            raise DomainError(403, "link_expired", "the download link has expired")
