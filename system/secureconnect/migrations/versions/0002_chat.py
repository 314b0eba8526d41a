"""chat: conversations, participants, messages (full-text), reactions, polls;
row-level security on all of them

Every policy compares rows with `app_user_id()`, the user the service set for
the current transaction (`SET LOCAL app.user_id`); without it a transaction
sees and writes nothing. FORCE makes the policies bind the table owner too,
which is the role the services connect as. Membership is checked against
`conversations.member_ids`, because a policy on conversation_participants may
not query conversation_participants itself (infinite recursion).

Revision ID: 0002_chat
Revises: 0001_auth
Create Date: 2026-01-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_chat"
down_revision = "0001_auth"
branch_labels = None
depends_on = None

MEMBER = "EXISTS (SELECT 1 FROM conversations c WHERE c.id = {table}.conversation_id \
AND c.member_ids @> ARRAY[app_user_id()])"
POLL_MEMBER = "EXISTS (SELECT 1 FROM polls p JOIN conversations c ON c.id = p.conversation_id \
WHERE p.id = {table}.poll_id AND c.member_ids @> ARRAY[app_user_id()])"

#: table → {command: (USING, WITH CHECK)}; a command without a policy is refused.
POLICIES: dict[str, dict[str, tuple[str | None, str | None]]] = {
    "conversations": {
        "SELECT": ("member_ids @> ARRAY[app_user_id()]", None),
        "INSERT": (None, "member_ids @> ARRAY[app_user_id()] AND creator_id = app_user_id()"),
    },
    "conversation_participants": {
        "SELECT": (MEMBER.format(table="conversation_participants"), None),
        "INSERT": (
            None,
            "EXISTS (SELECT 1 FROM conversations c "
            "WHERE c.id = conversation_participants.conversation_id "
            "AND c.member_ids @> ARRAY[app_user_id(), conversation_participants.user_id])",
        ),
    },
    "messages": {
        "SELECT": (MEMBER.format(table="messages"), None),
        "INSERT": (None, f"{MEMBER.format(table='messages')} AND sender_id = app_user_id()"),
    },
    "message_reactions": {
        "SELECT": (MEMBER.format(table="message_reactions"), None),
        "INSERT": (
            None,
            f"{MEMBER.format(table='message_reactions')} AND user_id = app_user_id()",
        ),
        "DELETE": ("user_id = app_user_id()", None),
    },
    "polls": {
        "SELECT": (MEMBER.format(table="polls"), None),
        "INSERT": (None, f"{MEMBER.format(table='polls')} AND creator_id = app_user_id()"),
        # Only the creator closes a poll.
        "UPDATE": ("creator_id = app_user_id()", "creator_id = app_user_id()"),
    },
    "poll_options": {
        "SELECT": (POLL_MEMBER.format(table="poll_options"), None),
        "INSERT": (
            None,
            "EXISTS (SELECT 1 FROM polls p WHERE p.id = poll_options.poll_id "
            "AND p.creator_id = app_user_id())",
        ),
    },
    "poll_ballots": {
        "SELECT": (POLL_MEMBER.format(table="poll_ballots"), None),
        "INSERT": (None, f"{POLL_MEMBER.format(table='poll_ballots')} AND user_id = app_user_id()"),
        "UPDATE": ("user_id = app_user_id()", "user_id = app_user_id()"),
    },
    "poll_votes": {
        "SELECT": (POLL_MEMBER.format(table="poll_votes"), None),
        "INSERT": (None, f"{POLL_MEMBER.format(table='poll_votes')} AND user_id = app_user_id()"),
        "DELETE": ("user_id = app_user_id()", None),
    },
}


def _timestamp(name: str, nullable: bool = False) -> sa.Column:
    default = None if nullable else sa.func.now()
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, server_default=default)


def _conversations() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("title", sa.String(100), nullable=True),
        sa.Column("creator_id", sa.Uuid(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("member_ids", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("direct_key", sa.String(73), nullable=True, unique=True),
        _timestamp("created_at"),
        sa.CheckConstraint("type IN ('direct', 'group')", name="ck_conversations_type"),
        sa.CheckConstraint("cardinality(member_ids) >= 1", name="ck_conversations_members"),
    )
    op.create_index(
        "ix_conversations_member_ids", "conversations", ["member_ids"], postgresql_using="gin"
    )
    op.create_table(
        "conversation_participants",
        sa.Column(
            "conversation_id",
            sa.Uuid(),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id"), primary_key=True),
        _timestamp("joined_at"),
    )
    op.create_index(
        "ix_conversation_participants_user_id", "conversation_participants", ["user_id"]
    )


def _messages() -> None:
    op.create_table(
        "messages",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False, unique=True),
        sa.Column(
            "conversation_id",
            sa.Uuid(),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("sender_id", sa.Uuid(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("client_msg_id", sa.String(64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        _timestamp("created_at"),
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            sa.Computed("to_tsvector('english', content)", persisted=True),
        ),
        # The idempotency key: a retried send finds the row instead of adding one.
        sa.UniqueConstraint("sender_id", "client_msg_id", name="uq_messages_sender_client_msg"),
        sa.CheckConstraint("length(content) BETWEEN 1 AND 4000", name="ck_messages_content"),
    )
    op.create_index("ix_messages_conversation_seq", "messages", ["conversation_id", "seq"])
    op.create_index("ix_messages_search", "messages", ["search"], postgresql_using="gin")
    op.create_table(
        "message_reactions",
        sa.Column(
            "message_id",
            sa.Uuid(),
            sa.ForeignKey("messages.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("emoji", sa.String(32), primary_key=True),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        _timestamp("created_at"),
    )


def _polls() -> None:
    op.create_table(
        "polls",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "conversation_id",
            sa.Uuid(),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("creator_id", sa.Uuid(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("question", sa.String(300), nullable=False),
        sa.Column("multiple_choice", sa.Boolean(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        _timestamp("closes_at", nullable=True),
        _timestamp("closed_at", nullable=True),
        _timestamp("created_at"),
    )
    op.create_index("ix_polls_conversation_id", "polls", ["conversation_id"])
    op.create_table(
        "poll_options",
        sa.Column(
            "poll_id", sa.Uuid(), sa.ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(100), nullable=False),
    )


def _ballots() -> None:
    op.create_table(
        "poll_ballots",
        sa.Column(
            "poll_id", sa.Uuid(), sa.ForeignKey("polls.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id"), primary_key=True),
        _timestamp("cast_at"),
    )
    op.create_table(
        "poll_votes",
        sa.Column("poll_id", sa.Uuid(), primary_key=True),
        sa.Column("user_id", sa.Uuid(), primary_key=True),
        sa.Column("option_id", sa.Uuid(), primary_key=True),
        sa.ForeignKeyConstraint(
            ["poll_id", "user_id"],
            ["poll_ballots.poll_id", "poll_ballots.user_id"],
            ondelete="CASCADE",
            name="fk_poll_votes_ballot",
        ),
        sa.ForeignKeyConstraint(
            ["poll_id", "option_id"],
            ["poll_options.poll_id", "poll_options.id"],
            ondelete="CASCADE",
            name="fk_poll_votes_option",
        ),
    )


def _row_level_security() -> None:
    op.execute(
        "CREATE FUNCTION app_user_id() RETURNS uuid LANGUAGE sql STABLE AS "
        "$$ SELECT NULLIF(current_setting('app.user_id', true), '')::uuid $$"
    )
    for table, commands in POLICIES.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        for command, (using, check) in commands.items():
            clauses = (f" USING ({using})" if using else "") + (
                f" WITH CHECK ({check})" if check else ""
            )
            name = f"{table}_{command.lower()}"
            op.execute(f"CREATE POLICY {name} ON {table} FOR {command}{clauses}")


def upgrade() -> None:
    _conversations()
    _messages()
    _polls()
    _ballots()
    _row_level_security()


def downgrade() -> None:
    for table in reversed(list(POLICIES)):
        op.drop_table(table)
    op.execute("DROP FUNCTION app_user_id()")
