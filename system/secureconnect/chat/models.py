"""Tables of the chat service (the migration 0002_chat creates them, with
row-level security; see store.py for how a transaction identifies its user)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Computed,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    String,
    Table,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR

from secureconnect.common.db import metadata

#: Text search configuration of the message index (stemming: "runs" finds "running").
SEARCH_CONFIG = "english"

conversations = Table(
    "conversations",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("type", String(16), nullable=False),
    Column("title", String(100), nullable=True),
    Column("creator_id", Uuid, ForeignKey("users.id"), nullable=False),
    # The membership that row-level security checks (a policy on
    # conversation_participants cannot query that table itself).
    Column("member_ids", ARRAY(Uuid), nullable=False),
    # "<smaller uuid>:<larger uuid>" for direct conversations: one per pair.
    Column("direct_key", String(73), nullable=True, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

conversation_participants = Table(
    "conversation_participants",
    metadata,
    Column(
        "conversation_id",
        Uuid,
        ForeignKey("conversations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("user_id", Uuid, ForeignKey("users.id"), primary_key=True, index=True),
    Column("joined_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("seq", BigInteger, Identity(always=True), nullable=False, unique=True),
    Column(
        "conversation_id", Uuid, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("sender_id", Uuid, ForeignKey("users.id"), nullable=False),
    Column("client_msg_id", String(64), nullable=False),
    Column("content", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column(
        "search",
        TSVECTOR,
        Computed(f"to_tsvector('{SEARCH_CONFIG}', content)", persisted=True),
    ),
)

message_reactions = Table(
    "message_reactions",
    metadata,
    Column("message_id", Uuid, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id"), primary_key=True),
    Column("emoji", String(32), primary_key=True),
    # Copied from the message on insert, so the security policy needs no join.
    Column("conversation_id", Uuid, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

polls = Table(
    "polls",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column(
        "conversation_id", Uuid, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("creator_id", Uuid, ForeignKey("users.id"), nullable=False),
    Column("question", String(300), nullable=False),
    Column("multiple_choice", Boolean, nullable=False),
    Column("anonymous", Boolean, nullable=False),
    Column("closes_at", DateTime(timezone=True), nullable=True),
    Column("closed_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

poll_options = Table(
    "poll_options",
    metadata,
    Column("poll_id", Uuid, ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True),
    Column("id", Uuid, primary_key=True),
    Column("position", Integer, nullable=False),
    Column("text", String(100), nullable=False),
)

#: One row per voter and poll: the primary key is the "one ballot" rule.
poll_ballots = Table(
    "poll_ballots",
    metadata,
    Column("poll_id", Uuid, ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Uuid, ForeignKey("users.id"), primary_key=True),
    Column("cast_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

#: The options a ballot chose (one row each; foreign keys tie them to the ballot and poll).
poll_votes = Table(
    "poll_votes",
    metadata,
    Column("poll_id", Uuid, primary_key=True),
    Column("user_id", Uuid, primary_key=True),
    Column("option_id", Uuid, primary_key=True),
)
