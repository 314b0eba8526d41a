"""video: row-level security on calls, call participants, recordings and push devices

Users. Like chat's (0002), every user policy compares rows with `app_user_id()`,
the user the service set for the transaction: a call, its participants and its
recordings are visible and changeable only by a participant of the call's
conversation (conversation_participants, itself filtered by chat's policies);
only that conversation's members are added to a call, only by its initiator; a
recording is listed under the participant whose media it holds; a push device
belongs to its user. FORCE binds the table owner, the role the services use.

System work. Three things the video service does are on behalf of no single
user; each runs in a transaction that sets `app.system_task` (SET LOCAL), and
each task has policies of its own, limited to the rows and commands it needs:

- 'ring-sweeper' (ends calls nobody answered): SELECT ringing calls; then, one
  transaction per call with `app.system_call_id` set to it, lock and read that
  call and its participants, mark its participants as no longer joined while it
  rings, and change it from ringing to ended/unanswered, nothing else. The call
  must stay visible once ended because PostgreSQL checks the new row of an
  UPDATE ... WHERE against the SELECT policies too; pinning the call id keeps
  that to the one call being ended rather than every unanswered call ever.
- 'call-gauge' (the live calls gauge): SELECT calls not ended.
- Ringing invitees' phones is not system work: the caller's own transaction
  may read the push devices of the people its ringing call still invites, a
  narrower grant than any system switch over all devices. Forgetting a device
  the push provider rejected runs as the device's owner.

Why a setting and not SECURITY DEFINER functions: those only escape row-level
security when their owner has BYPASSRLS (or is not subject to FORCE), and the
application role may not create such a role: it owns the database but is not a
superuser and has no CREATEROLE (harness and compose both create it LOGIN only;
BYPASSRLS needs a superuser). The settings guard against the service's own
mistakes (a query missing its WHERE), like `app.user_id` does; neither is a
boundary against SQL injection, which could set them.

Revision ID: 0005_video_rls
Revises: 0004_video
Create Date: 2026-02-02
"""

from __future__ import annotations

from alembic import op

revision = "0005_video_rls"
down_revision = "0004_video"
branch_labels = None
depends_on = None

CONVERSATION_MEMBER = "EXISTS (SELECT 1 FROM conversation_participants cp \
WHERE cp.conversation_id = calls.conversation_id AND cp.user_id = app_user_id())"
CALL_MEMBER = "EXISTS (SELECT 1 FROM calls c JOIN conversation_participants cp \
ON cp.conversation_id = c.conversation_id \
WHERE c.id = {table}.call_id AND cp.user_id = app_user_id())"
#: Only the initiator adds participants, and only members of the call's conversation.
INVITE = "EXISTS (SELECT 1 FROM calls c JOIN conversation_participants cp \
ON cp.conversation_id = c.conversation_id \
WHERE c.id = call_participants.call_id AND c.initiator_id = app_user_id() \
AND cp.user_id = call_participants.user_id)"
OWN = "user_id = app_user_id()"
#: The caller may read the devices of those its ringing call still invites.
RINGS = "EXISTS (SELECT 1 FROM call_participants p JOIN calls c ON c.id = p.call_id \
WHERE p.user_id = push_devices.user_id AND p.status = 'invited' \
AND c.state = 'ringing' AND c.initiator_id = app_user_id())"

Policies = dict[str, dict[str, tuple[str | None, str | None]]]

#: table → {command: (USING, WITH CHECK)}; a command without a policy is refused.
USER_POLICIES: Policies = {
    "calls": {
        "SELECT": (CONVERSATION_MEMBER, None),
        "INSERT": (None, f"{CONVERSATION_MEMBER} AND initiator_id = app_user_id()"),
        "UPDATE": (CONVERSATION_MEMBER, CONVERSATION_MEMBER),
    },
    "call_participants": {
        "SELECT": (CALL_MEMBER.format(table="call_participants"), None),
        "INSERT": (None, INVITE),
        "UPDATE": (
            CALL_MEMBER.format(table="call_participants"),
            CALL_MEMBER.format(table="call_participants"),
        ),
    },
    "call_recordings": {
        "SELECT": (CALL_MEMBER.format(table="call_recordings"), None),
        "INSERT": (None, f"{CALL_MEMBER.format(table='call_recordings')} AND {OWN}"),
    },
    "push_devices": {
        "SELECT": (f"{OWN} OR {RINGS}", None),
        "INSERT": (None, OWN),
        "UPDATE": (OWN, OWN),
        "DELETE": (OWN, None),
    },
}

PINNED = "app_system_call_id()"
STILL_RINGING = "EXISTS (SELECT 1 FROM calls c \
WHERE c.id = call_participants.call_id AND c.state = 'ringing')"

#: system task → its policies (each also requires `app_system_task()` to be the task).
SYSTEM_POLICIES: dict[str, Policies] = {
    "ring-sweeper": {
        "calls": {
            "SELECT": (f"state = 'ringing' OR id = {PINNED}", None),
            "UPDATE": (
                f"id = {PINNED} AND state = 'ringing'",
                f"id = {PINNED} AND state = 'ended' AND end_reason = 'unanswered'",
            ),
        },
        "call_participants": {
            "SELECT": (f"call_id = {PINNED}", None),
            # The store writes participants before the call, while it still rings.
            "UPDATE": (
                f"call_id = {PINNED} AND {STILL_RINGING}",
                f"call_id = {PINNED} AND status <> 'joined'",
            ),
        },
    },
    "call-gauge": {
        "calls": {"SELECT": ("state <> 'ended'", None)},
    },
}

#: function → (type, body): the system settings of the transaction, NULL when unset.
SETTING_FUNCTIONS = {
    "app_system_task": ("text", "NULLIF(current_setting('app.system_task', true), '')"),
    "app_system_call_id": (
        "uuid",
        "NULLIF(current_setting('app.system_call_id', true), '')::uuid",
    ),
}


def _policy(name: str, table: str, command: str, using: str | None, check: str | None) -> None:
    clauses = (f" USING ({using})" if using else "") + (f" WITH CHECK ({check})" if check else "")
    op.execute(f"CREATE POLICY {name} ON {table} FOR {command}{clauses}")


def _system(task: str, clause: str | None) -> str | None:
    return None if clause is None else f"app_system_task() = '{task}' AND ({clause})"


def _policies() -> list[tuple[str, str, str, str | None, str | None]]:
    """(name, table, command, USING, WITH CHECK) of every policy."""
    found = [
        (f"{table}_{command.lower()}", table, command, using, check)
        for table, commands in USER_POLICIES.items()
        for command, (using, check) in commands.items()
    ]
    for task, tables in SYSTEM_POLICIES.items():
        for table, commands in tables.items():
            for command, (using, check) in commands.items():
                name = f"{table}_{command.lower()}_{task.replace('-', '_')}"
                found.append((name, table, command, _system(task, using), _system(task, check)))
    return found


def upgrade() -> None:
    for function, (returns, value) in SETTING_FUNCTIONS.items():
        op.execute(
            f"CREATE FUNCTION {function}() RETURNS {returns} "
            f"LANGUAGE sql STABLE AS $$ SELECT {value} $$"
        )
    for table in USER_POLICIES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    for policy in _policies():
        _policy(*policy)


def downgrade() -> None:
    for name, table, *_ in _policies():
        op.execute(f"DROP POLICY {name} ON {table}")
    for table in USER_POLICIES:
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    for function in SETTING_FUNCTIONS:
        op.execute(f"DROP FUNCTION {function}()")
