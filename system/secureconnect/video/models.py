"""Tables of the video service (migration 0004_video creates them).

A call belongs to a conversation; its participants are the conversation's
members when the call was placed. The service checks membership itself on
every request; row-level security (migration 0005_video_rls) repeats the check
in the database, with narrow policies for the ring-timeout sweeper and the
live calls gauge, which work on behalf of no single user.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    String,
    Table,
    Uuid,
    func,
)

from secureconnect.common.db import metadata

calls = Table(
    "calls",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column(
        "conversation_id", Uuid, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("initiator_id", Uuid, ForeignKey("users.id"), nullable=False),
    Column("media", String(8), nullable=False),
    Column("mode", String(8), nullable=False),
    Column("state", String(8), nullable=False),
    Column("record", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("ring_deadline", DateTime(timezone=True), nullable=False),
    Column("answered_at", DateTime(timezone=True), nullable=True),
    Column("ended_at", DateTime(timezone=True), nullable=True),
    Column("end_reason", String(16), nullable=True),
)

call_participants = Table(
    "call_participants",
    metadata,
    Column("call_id", Uuid, ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id"), primary_key=True),
    Column("status", String(8), nullable=False),
    Column("joined_at", DateTime(timezone=True), nullable=True),
    Column("left_at", DateTime(timezone=True), nullable=True),
)

call_recordings = Table(
    "call_recordings",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("call_id", Uuid, ForeignKey("calls.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Uuid, ForeignKey("users.id"), nullable=False),
    Column("object_key", String(255), nullable=False),
    Column("content_type", String(64), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("duration_s", Float, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

push_devices = Table(
    "push_devices",
    metadata,
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("token", String(512), primary_key=True),
    Column("platform", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
