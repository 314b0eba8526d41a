"""The backup scheduler's app: the schedule runs in the lifespan; probes and metrics.

Its /health is not the generic "the process answers": it is 503 with the
reason once backups have stopped being made (see scheduler.py), so the
health check of the container or orchestrator notices a silent scheduler.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from secureconnect.backup.archive import BackupArchive
from secureconnect.backup.deps import BackupState, State
from secureconnect.backup.scheduler import BackupScheduler
from secureconnect.backup.settings import BackupSettings
from secureconnect.common.app import create_app, running
from secureconnect.common.clock import SYSTEM_CLOCK, Clock
from secureconnect.common.db import Database
from secureconnect.common.deps import install_state
from secureconnect.common.probes import database_dependency
from secureconnect.common.s3 import ResilientS3, s3_dependency


async def backup_health(state: State) -> JSONResponse:
    health = state.scheduler.health()
    body = {
        "status": "ok" if health.healthy else "unhealthy",
        "service": state.settings.service_name,
        "reason": health.reason,
        "last_success_at": health.last_success_at,
        "last_error": health.last_error,
    }
    return JSONResponse(body, status_code=200 if health.healthy else 503)


def create_backup_app(settings: BackupSettings, clock: Clock = SYSTEM_CLOCK) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        name, bucket = settings.service_name, settings.backup_bucket
        db = Database(settings, name)
        s3 = ResilientS3(settings, name, clock)
        s3.start_prober(bucket)
        scheduler = BackupScheduler(settings, BackupArchive(s3, bucket), clock)
        install_state(
            app,
            BackupState(scheduler, settings),
            [database_dependency(db), s3_dependency(s3, bucket)],
        )

        async def schedule() -> None:
            await s3.ensure_bucket_eventually(bucket)
            await scheduler.run_forever()

        try:
            async with running({"backup-schedule": schedule()}):
                yield
        finally:
            await s3.close()
            await db.close()

    app = create_app(settings, lifespan=lifespan)
    # Ahead of the generic /health of create_app: the first matching route answers.
    app.router.routes.insert(0, APIRoute("/health", backup_health, include_in_schema=False))
    return app
