"""video: calls, their participants, recordings and push devices

Revision ID: 0004_video
Revises: 0003_storage
Create Date: 2026-02-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_video"
down_revision = "0003_storage"
branch_labels = None
depends_on = None


def _timestamp(name: str, nullable: bool = False, default: bool = False) -> sa.Column:
    server_default = sa.func.now() if default else None
    return sa.Column(
        name, sa.DateTime(timezone=True), nullable=nullable, server_default=server_default
    )


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "conversation_id",
            sa.Uuid(),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("initiator_id", sa.Uuid(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("media", sa.String(8), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("record", sa.Boolean(), nullable=False),
        _timestamp("created_at"),
        _timestamp("ring_deadline"),
        _timestamp("answered_at", nullable=True),
        _timestamp("ended_at", nullable=True),
        sa.Column("end_reason", sa.String(16), nullable=True),
        sa.CheckConstraint("media IN ('audio', 'video')", name="ck_calls_media"),
        sa.CheckConstraint("mode IN ('p2p', 'sfu')", name="ck_calls_mode"),
        sa.CheckConstraint("state IN ('ringing', 'active', 'ended')", name="ck_calls_state"),
    )
    op.create_index("ix_calls_conversation", "calls", ["conversation_id"])
    # The sweeper's and the gauge's queries only look at calls still going on.
    op.create_index(
        "ix_calls_live", "calls", ["state", "ring_deadline"], postgresql_where="state <> 'ended'"
    )
    op.create_table(
        "call_participants",
        sa.Column(
            "call_id", sa.Uuid(), sa.ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("status", sa.String(8), nullable=False),
        _timestamp("joined_at", nullable=True),
        _timestamp("left_at", nullable=True),
        sa.CheckConstraint(
            "status IN ('invited', 'joined', 'left')", name="ck_call_participants_status"
        ),
    )
    op.create_index("ix_call_participants_user", "call_participants", ["user_id"])
    op.create_table(
        "call_recordings",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "call_id", sa.Uuid(), sa.ForeignKey("calls.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("object_key", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=True),
        _timestamp("created_at", default=True),
    )
    op.create_index("ix_call_recordings_call", "call_recordings", ["call_id"])
    op.create_table(
        "push_devices",
        sa.Column(
            "user_id",
            sa.Uuid(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("token", sa.String(512), primary_key=True),
        sa.Column("platform", sa.String(16), nullable=False),
        _timestamp("created_at", default=True),
    )


def downgrade() -> None:
    op.drop_table("push_devices")
    op.drop_table("call_recordings")
    op.drop_table("call_participants")
    op.drop_table("calls")
