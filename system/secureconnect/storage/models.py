"""Tables of the storage service (the migrations create them).

A row is a file from the moment its upload URL is issued: `pending` while
the client uploads (its declared size counts as a reservation against the
quota until `complete_by`), `available` once completed and encrypted.
`staging_key` names the plaintext upload object until it has been deleted
for good (see service.py, the sweeper).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Table,
    Uuid,
    func,
)

from secureconnect.common.db import metadata

PENDING = "pending"
AVAILABLE = "available"

files = Table(
    "files",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("owner_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(127), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("upload_expires_at", DateTime(timezone=True), nullable=False),
    Column("complete_by", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True), nullable=True),
    Column("staging_key", String(255), nullable=True),
    Column("object_key", String(255), nullable=True),
    Column("wrapped_key", LargeBinary, nullable=True),
    Column("key_id", String(32), nullable=True),
    CheckConstraint("size >= 0", name="ck_files_size_non_negative"),
    CheckConstraint("status IN ('pending', 'available')", name="ck_files_status"),
    Index("ix_files_owner_status", "owner_id", "status"),
)
#: What the sweeper scans: rows still naming a plaintext upload object.
Index(
    "ix_files_staging",
    files.c.upload_expires_at,
    postgresql_where=files.c.staging_key.is_not(None),
)
