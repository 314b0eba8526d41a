"""Transactions identified for row-level security: on behalf of a user, or a system task.

The policies of the migrations read transaction-local settings (`set_config(..,
true)`, i.e. SET LOCAL, gone at commit or rollback, so a pooled connection
never carries them to the next transaction): `app.user_id` for a user's work,
`app.system_task` (and `app.system_call_id` for one call) for the few jobs on
behalf of nobody in particular, each allowed only the rows and commands its
own policies name. A transaction with neither sees and writes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from secureconnect.common.db import Database

T = TypeVar("T")
Work = Callable[[AsyncSession], Awaitable[T]]

_SET_USER = text("SELECT set_config('app.user_id', :user_id, true)")
_SET_TASK = text(
    "SELECT set_config('app.system_task', :task, true), "
    "set_config('app.system_call_id', :call_id, true)"
)


class UserScope:
    """`Database.run` with the transaction identified as `user_id` for row-level security."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def run(self, user_id: uuid.UUID, operation: str, work: Work[T]) -> T:
        async def scoped(session: AsyncSession) -> T:
            await session.execute(_SET_USER, {"user_id": str(user_id)})
            return await work(session)

        return await self.db.run(operation, scoped)


class SystemScope:
    """`Database.run` as the system task `task` (optionally on the one call `call_id`)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def run(
        self, task: str, operation: str, work: Work[T], call_id: uuid.UUID | None = None
    ) -> T:
        values = {"task": task, "call_id": "" if call_id is None else str(call_id)}

        async def scoped(session: AsyncSession) -> T:
            await session.execute(_SET_TASK, values)
            return await work(session)

        return await self.db.run(operation, scoped)
