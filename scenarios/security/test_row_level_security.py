"""Row-level security guards conversation data behind the service's own checks."""

from __future__ import annotations

import asyncpg

from harness import AddressOf, ApiClient, Chat, EvidenceLog, Platform, check, require_components
from harness.checks import transport

CONVERSATION_TABLES = """
    SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname IN (
        SELECT table_name FROM information_schema.columns
        WHERE table_schema = 'public' AND column_name IN ('conversation_id', 'poll_id'))
"""


@check(
    "SEC-006",
    "Row-level security is forced on every conversation table",
    category="security",
    severity="MEDIUM",
    finding="MEDIUM-9: no row-level security for sensitive data",
    fix="ENABLE and FORCE ROW LEVEL SECURITY with policies on app.user_id.",
    impact="One query bug exposes every user's conversations: the database does not stop it.",
)
async def test_row_level_security_is_forced(
    stack: Platform, proxied: AddressOf, api: ApiClient, evidence: EvidenceLog
) -> None:
    require_components(stack.names(), "chat")
    alice, bob = api.new_session(), api.new_session()
    chat = Chat(api, alice)
    assert chat.send(chat.conversation(bob), "for our eyes only").status_code == 201
    host, port = proxied("postgres")
    conn = await asyncpg.connect(
        host=host,
        port=port,
        user="secureconnect",
        database="secureconnect",
        password=stack.secret("db_password"),
        ssl=transport.tls_context(stack.ca_certificate()),
    )
    try:
        tables = await conn.fetch(CONVERSATION_TABLES)
        unguarded = [
            t["relname"] for t in tables if not (t["relrowsecurity"] and t["relforcerowsecurity"])
        ]
        # Without app.user_id the owner role itself sees no message at all.
        visible = await conn.fetchval("SELECT count(*) FROM messages")
    finally:
        await conn.close()
    evidence.note("conversation tables", ", ".join(sorted(t["relname"] for t in tables)))
    evidence.number("messages visible to the app role without a user", visible)
    assert tables, "no conversation tables found"
    assert not unguarded, f"tables without forced row-level security: {unguarded}"
    assert visible == 0, f"{visible} messages visible without app.user_id"
