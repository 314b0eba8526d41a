"""storage: files (reservations, encrypted objects, wrapped data keys)

Revision ID: 0003_storage
Revises: 0002_chat
Create Date: 2026-01-31
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_storage"
down_revision = "0002_chat"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "files",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "owner_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(127), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("upload_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("complete_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("staging_key", sa.String(255), nullable=True),
        sa.Column("object_key", sa.String(255), nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("key_id", sa.String(32), nullable=True),
        sa.CheckConstraint("size >= 0", name="ck_files_size_non_negative"),
        sa.CheckConstraint("status IN ('pending', 'available')", name="ck_files_status"),
    )
    op.create_index("ix_files_owner_status", "files", ["owner_id", "status"])
    op.create_index(
        "ix_files_staging",
        "files",
        ["upload_expires_at"],
        postgresql_where=sa.text("staging_key IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_table("files")
