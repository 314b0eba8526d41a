"""Envelope encryption: round trips at segment boundaries, and every tampering refused."""

from __future__ import annotations

import io
import os
import uuid

import pytest
from secureconnect.common.errors import DomainError
from secureconnect.storage.envelope import (
    SEGMENT_BYTES,
    Decryptor,
    EncryptingReader,
    MasterKey,
    ciphertext_size,
    new_data_key,
)

FILE_ID = uuid.uuid4().bytes


def seal(data: bytes, dek: bytes, file_id: bytes = FILE_ID, read_size: int = 5000) -> bytes:
    reader = EncryptingReader(io.BytesIO(data), len(data), dek, file_id)
    parts = []
    while chunk := reader.read(read_size):
        parts.append(chunk)
    return b"".join(parts)


def open_sealed(sealed: bytes, dek: bytes, size: int, file_id: bytes = FILE_ID) -> bytes:
    decryptor = Decryptor(dek, file_id, size)
    plain = []
    for start in range(0, len(sealed), 777):  # an awkward chunking on purpose
        plain += decryptor.feed(sealed[start : start + 777])
    decryptor.finish()
    return b"".join(plain)


@pytest.mark.parametrize(
    "size", [0, 1, SEGMENT_BYTES - 1, SEGMENT_BYTES, SEGMENT_BYTES + 1, 3 * SEGMENT_BYTES + 5]
)
def test_round_trip_is_byte_identical(size: int) -> None:
    data, dek = os.urandom(size), new_data_key()
    sealed = seal(data, dek)
    assert len(sealed) == ciphertext_size(size)
    assert open_sealed(sealed, dek, size) == data
    if size >= 32:
        assert data[:32] not in sealed


def test_same_plaintext_encrypts_differently() -> None:
    data = os.urandom(1000)
    assert seal(data, new_data_key()) != seal(data, new_data_key())


@pytest.mark.parametrize("position", [0, 5, 20, -1])
def test_a_flipped_bit_is_refused(position: int) -> None:
    data, dek = os.urandom(2 * SEGMENT_BYTES + 10), new_data_key()
    sealed = bytearray(seal(data, dek))
    sealed[position] ^= 0x01
    with pytest.raises(DomainError) as caught:
        open_sealed(bytes(sealed), dek, len(data))
    assert caught.value.code == "integrity_error"


def test_truncation_at_a_segment_boundary_is_refused() -> None:
    data, dek = os.urandom(2 * SEGMENT_BYTES), new_data_key()
    sealed = seal(data, dek)
    first_segment = ciphertext_size(SEGMENT_BYTES)
    with pytest.raises(DomainError):
        open_sealed(sealed[:first_segment], dek, SEGMENT_BYTES)  # "last" flag missing
    with pytest.raises(DomainError):
        open_sealed(sealed[:first_segment], dek, len(data))  # segments missing


def test_another_files_ciphertext_or_key_is_refused() -> None:
    data, dek = os.urandom(100), new_data_key()
    sealed = seal(data, dek)
    with pytest.raises(DomainError):
        open_sealed(sealed, dek, len(data), file_id=uuid.uuid4().bytes)
    with pytest.raises(DomainError):
        open_sealed(sealed, new_data_key(), len(data))


def test_a_short_upload_is_a_size_mismatch() -> None:
    reader = EncryptingReader(io.BytesIO(b"abc"), 10, new_data_key(), FILE_ID)
    with pytest.raises(DomainError) as caught:
        reader.read()
    assert caught.value.code == "size_mismatch"


def test_data_keys_are_wrapped_per_file_under_the_master_key() -> None:
    master, dek = MasterKey.from_secret("a master secret of enough length"), new_data_key()
    wrapped = master.wrap(dek, FILE_ID)
    assert dek not in wrapped
    assert master.unwrap(wrapped, master.key_id, FILE_ID) == dek
    with pytest.raises(DomainError) as caught:
        master.unwrap(wrapped, master.key_id, uuid.uuid4().bytes)
    assert caught.value.code == "integrity_error"
    rotated = MasterKey.from_secret("another master secret entirely")
    with pytest.raises(DomainError) as caught:
        rotated.unwrap(wrapped, master.key_id, FILE_ID)
    assert caught.value.code == "unknown_encryption_key"
    assert master.url_key != master.kek  # signing and wrapping never share a key
