"""Envelope encryption of stored files: AES-256-GCM, chunked, per-object keys.

Keys. The master secret (SC_STORAGE_ENCRYPTION_KEY_FILE) never encrypts data
itself: HKDF-SHA256 derives from it a key-encryption key (KEK) and, separately,
the key that signs download URLs. Every object gets a fresh random 256-bit data
key (DEK); the DEK is wrapped with the KEK (AES-GCM, the file id as associated
data) and stored in PostgreSQL next to the file's row, so S3 holds only
ciphertext and the database only wrapped keys. `key_id` names the KEK so a
rotated master secret is detected instead of producing garbage.

Object format (STREAM-like, so both directions work in bounded memory and a
download can be decrypted while it streams):

    header   = MAGIC (4 bytes) || nonce prefix (7 random bytes)
    segments = AES-GCM(DEK, nonce, plaintext[i*SEGMENT_BYTES : (i+1)*SEGMENT_BYTES],
                       aad=file id)   each followed by its 16-byte tag
    nonce    = prefix (7) || segment index (4, big-endian) || last-segment flag (1)

The index in the nonce stops reordering, the last flag stops truncation at a
segment boundary, the file id in the AAD stops swapping objects between rows.
There is always at least one (possibly empty) segment.
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from secureconnect.common.errors import DomainError

MAGIC = b"SCE1"
NONCE_PREFIX_BYTES = 7
HEADER_BYTES = len(MAGIC) + NONCE_PREFIX_BYTES
#: Plaintext bytes per authenticated segment.
SEGMENT_BYTES = 64 * 1024
TAG_BYTES = 16
DEK_BYTES = 32
WRAP_NONCE_BYTES = 12
KEK_INFO = b"secureconnect/storage/kek/v1"
URL_KEY_INFO = b"secureconnect/storage/download-url/v1"


def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


def integrity_error() -> DomainError:
    return DomainError(500, "integrity_error", "the stored file failed its integrity check")


@dataclass(frozen=True)
class MasterKey:
    kek: bytes
    url_key: bytes
    key_id: str

    @classmethod
    def from_secret(cls, secret: str) -> MasterKey:
        material = secret.encode()
        kek = _derive(material, KEK_INFO)
        return cls(kek, _derive(material, URL_KEY_INFO), hashlib.sha256(kek).hexdigest()[:16])

    def wrap(self, dek: bytes, file_id: bytes) -> bytes:
        nonce = os.urandom(WRAP_NONCE_BYTES)
        return nonce + AESGCM(self.kek).encrypt(nonce, dek, file_id)

    def unwrap(self, wrapped: bytes, key_id: str, file_id: bytes) -> bytes:
        if key_id != self.key_id:
            raise DomainError(
                500, "unknown_encryption_key", "the file was encrypted under another master key"
            )
        try:
            return AESGCM(self.kek).decrypt(
                wrapped[:WRAP_NONCE_BYTES], wrapped[WRAP_NONCE_BYTES:], file_id
            )
        except InvalidTag as exc:
            raise integrity_error() from exc


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=DEK_BYTES * 8)


def segment_count(plaintext_bytes: int) -> int:
    return max(1, -(-plaintext_bytes // SEGMENT_BYTES))


def ciphertext_size(plaintext_bytes: int) -> int:
    return HEADER_BYTES + plaintext_bytes + TAG_BYTES * segment_count(plaintext_bytes)


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + struct.pack(">IB", index, 1 if last else 0)


class EncryptingReader:
    """A file-like `read(n)` over the ciphertext of `source` (exactly `size` plaintext bytes)."""

    def __init__(self, source: BinaryIO, size: int, dek: bytes, file_id: bytes) -> None:
        self._source = source
        self._remaining = size
        self._aead = AESGCM(dek)
        self._aad = file_id
        self._prefix = os.urandom(NONCE_PREFIX_BYTES)
        self._index = 0
        self._pending = bytearray(MAGIC + self._prefix)
        self._done = False

    def read(self, n: int = -1) -> bytes:
        while not self._done and (n < 0 or len(self._pending) < n):
            self._pending += self._next_segment()
        if n < 0:
            n = len(self._pending)
        out = bytes(self._pending[:n])
        del self._pending[:n]
        return out

    def _next_segment(self) -> bytes:
        want = min(SEGMENT_BYTES, self._remaining)
        chunk = _read_exactly(self._source, want)
        self._remaining -= want
        last = self._remaining == 0
        sealed = self._aead.encrypt(_nonce(self._prefix, self._index, last), chunk, self._aad)
        self._index += 1
        self._done = last
        return sealed


def _read_exactly(source: BinaryIO, size: int) -> bytes:
    parts, missing = [], size
    while missing:
        data = source.read(missing)
        if not data:
            raise DomainError(409, "size_mismatch", "the uploaded object is shorter than declared")
        parts.append(data)
        missing -= len(data)
    return b"".join(parts)


class Decryptor:
    """Feed ciphertext in any chunking; get plaintext segments once authenticated."""

    def __init__(self, dek: bytes, file_id: bytes, size: int) -> None:
        self._aead = AESGCM(dek)
        self._aad = file_id
        self._segments = segment_count(size)
        self._size = size
        self._buffer = bytearray()
        self._prefix: bytes | None = None
        self._index = 0

    def feed(self, data: bytes) -> list[bytes]:
        """The plaintext of every segment completed by `data`, authenticated."""
        self._buffer += data
        if self._prefix is None:
            if len(self._buffer) < HEADER_BYTES:
                return []
            if self._buffer[: len(MAGIC)] != MAGIC:
                raise integrity_error()
            self._prefix = bytes(self._buffer[len(MAGIC) : HEADER_BYTES])
            del self._buffer[:HEADER_BYTES]
        plain = []
        while self._index < self._segments and len(self._buffer) >= self._sealed_len():
            sealed_len = self._sealed_len()
            sealed = bytes(self._buffer[:sealed_len])
            del self._buffer[:sealed_len]
            plain.append(self._open(sealed))
        return plain

    def finish(self) -> None:
        """Raise unless every segment arrived and nothing follows the last."""
        if self._index != self._segments or self._buffer:
            raise integrity_error()

    def _sealed_len(self) -> int:
        if self._index < self._segments - 1:
            return SEGMENT_BYTES + TAG_BYTES
        return self._size - SEGMENT_BYTES * (self._segments - 1) + TAG_BYTES

    def _open(self, sealed: bytes) -> bytes:
        assert self._prefix is not None
        last = self._index == self._segments - 1
        try:
            plain = self._aead.decrypt(_nonce(self._prefix, self._index, last), sealed, self._aad)
        except InvalidTag as exc:
            raise integrity_error() from exc
        self._index += 1
        return plain
