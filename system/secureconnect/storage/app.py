"""The storage service's app: resources opened in the lifespan, wired once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from secureconnect.common.app import create_app, running
from secureconnect.common.clock import SYSTEM_CLOCK, Clock
from secureconnect.common.db import Database
from secureconnect.common.deps import install_state
from secureconnect.common.probes import database_dependency, redis_dependency
from secureconnect.common.resilient_redis import ResilientRedis
from secureconnect.common.revocations_pg import PostgresRevocations
from secureconnect.common.s3 import (
    DEFAULT_S3_POLICY,
    ResilientS3,
    S3Policy,
    public_presigner,
    s3_dependency,
)
from secureconnect.common.tokens import RevocationList, TokenCodec, TokenVerifier
from secureconnect.storage.deps import StorageState
from secureconnect.storage.envelope import MasterKey
from secureconnect.storage.objects import ObjectStore
from secureconnect.storage.routes import router
from secureconnect.storage.service import StorageService
from secureconnect.storage.settings import StorageSettings
from secureconnect.storage.store import FileStore


def storage_service(
    settings: StorageSettings, db: Database, s3: ResilientS3, clock: Clock
) -> StorageService:
    presigner = public_presigner(settings, settings.s3_public_endpoint)
    return StorageService(
        settings,
        FileStore(db),
        ObjectStore(s3, settings.s3_bucket, presigner),
        MasterKey.from_secret(settings.encryption_secret()),
        clock,
    )


def create_storage_app(
    settings: StorageSettings, clock: Clock = SYSTEM_CLOCK, policy: S3Policy = DEFAULT_S3_POLICY
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        name, bucket = settings.service_name, settings.s3_bucket
        db = Database(settings, name)
        redis = ResilientRedis(settings, name, clock)
        s3 = ResilientS3(settings, name, clock, policy)
        service = storage_service(settings, db, s3, clock)
        verifier = TokenVerifier(
            TokenCodec(settings.jwt_key(), clock),
            RevocationList(redis, PostgresRevocations(db), clock),
        )
        await redis.start()  # after the revocation list registered its recovery hook
        s3.start_prober(bucket)
        install_state(
            app,
            StorageState(service, verifier),
            [database_dependency(db), redis_dependency(redis), s3_dependency(s3, bucket)],
        )
        jobs = {
            "storage-bucket": s3.ensure_bucket_eventually(bucket),
            "storage-janitor": service.janitor.run_forever(),
        }
        try:
            async with running(jobs):
                yield
        finally:
            await service.janitor.close()
            await s3.close()
            await redis.stop()
            await db.close()

    return create_app(settings, lifespan=lifespan, routers=[router])
