"""The durable copy of the revocation list, in PostgreSQL.

Redis (or the in-memory fallback) answers revocation checks quickly; this
table is the source of truth that survives a Redis outage combined with a
process restart, and lets every instance see revocations made by another
while Redis is down.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, String, Table, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from secureconnect.common.db import Database, metadata
from secureconnect.common.errors import DomainError

log = logging.getLogger(__name__)

revoked_tokens = Table(
    "revoked_tokens",
    metadata,
    Column("token_id", String(64), primary_key=True),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)


class PostgresRevocations:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, token_id: str, expires_at: float) -> bool:
        """Store the revocation; False when the database could not (Redis may have it)."""
        when = datetime.fromtimestamp(expires_at, UTC)
        statement = insert(revoked_tokens).values(token_id=token_id, expires_at=when)
        statement = statement.on_conflict_do_nothing(index_elements=["token_id"])

        async def work(session: AsyncSession) -> None:
            await session.execute(statement)
            await session.execute(
                delete(revoked_tokens).where(revoked_tokens.c.expires_at < func.now())
            )

        try:
            await self.db.run("revocation_add", work)
        except DomainError:
            # Redis may still hold it; RevocationList.revoke refuses when neither does.
            log.warning("durable revocation not written", extra={"token_id": token_id})
            return False
        return True

    async def active(self) -> list[tuple[str, float]]:
        query = select(revoked_tokens.c.token_id, revoked_tokens.c.expires_at).where(
            revoked_tokens.c.expires_at > func.now()
        )

        async def work(session: AsyncSession) -> list[tuple[str, float]]:
            rows = (await session.execute(query)).all()
            return [(token_id, expires_at.timestamp()) for token_id, expires_at in rows]

        try:
            return await self.db.run("revocation_active", work)
        except DomainError:
            log.warning("durable revocations not readable; Redis keeps what it has")
            return []

    async def contains_any(self, token_ids: list[str]) -> bool | None:
        """Whether any of the tokens is revoked; None when the database could not answer."""
        query = (
            select(revoked_tokens.c.token_id)
            .where(
                revoked_tokens.c.token_id.in_(token_ids), revoked_tokens.c.expires_at > func.now()
            )
            .limit(1)
        )

        async def work(session: AsyncSession) -> bool:
            return (await session.execute(query)).first() is not None

        try:
            return await self.db.run("revocation_check", work)
        except DomainError:
            return None
