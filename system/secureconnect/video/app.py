"""The video service's app: resources opened in the lifespan, wired once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from secureconnect.common.app import create_app, running
from secureconnect.common.bus import BusPublisher
from secureconnect.common.clock import SYSTEM_CLOCK, Clock
from secureconnect.common.db import Database
from secureconnect.common.deps import install_state
from secureconnect.common.probes import database_dependency, redis_dependency
from secureconnect.common.resilient_redis import ResilientRedis
from secureconnect.common.revocations_pg import PostgresRevocations
from secureconnect.common.s3 import ResilientS3, public_presigner, s3_dependency
from secureconnect.common.tokens import RevocationList, TokenCodec, TokenVerifier
from secureconnect.video import debug, routes, ws
from secureconnect.video.deps import VideoState
from secureconnect.video.fcm import FcmPushProvider, ServiceAccount
from secureconnect.video.metrics import CALL_EVENTS
from secureconnect.video.push import (
    LogPushProvider,
    PushDispatcher,
    PushProvider,
    WebhookPushProvider,
)
from secureconnect.video.recording import CallRecorder, clear_spool
from secureconnect.video.service import CallService
from secureconnect.video.settings import PushProviderName, VideoSettings
from secureconnect.video.sfu import Sfu
from secureconnect.video.signaling import REVOCATION_RECHECK_S, SignalingHub
from secureconnect.video.store import CallStore
from secureconnect.video.turn import TurnCredentials, turn_dependency


def push_provider(
    settings: VideoSettings, http: httpx.AsyncClient, clock: Clock, store: CallStore
) -> PushProvider:
    name = settings.service_name
    if settings.push_provider is PushProviderName.WEBHOOK:
        assert settings.push_webhook_url is not None  # the settings refuse it missing
        return WebhookPushProvider(name, settings.push_webhook_url, http)
    if settings.push_provider is PushProviderName.FCM:
        assert settings.fcm_credentials_file is not None

        async def forget(push, token):  # noqa: ANN001, ANN202  (Unregistered)
            await store.remove_device(push.user_id, token)

        account = ServiceAccount.from_file(settings.fcm_credentials_file)
        return FcmPushProvider(name, account, settings.fcm_send_url, http, clock, forget)
    return LogPushProvider(name)


def turn_credentials(settings: VideoSettings, clock: Clock) -> TurnCredentials:
    secret = settings.turn_secret.get_secret_value() if settings.turn_secret else ""
    return TurnCredentials(secret, settings.turn_urls, clock)


def build_state(
    settings: VideoSettings,
    db: Database,
    redis: ResilientRedis,
    s3: ResilientS3,
    http: httpx.AsyncClient,
    clock: Clock,
) -> VideoState:
    name = settings.service_name
    store = CallStore(db)
    events = BusPublisher(redis, settings.chat_urls, settings.jwt_key(), clock, http, CALL_EVENTS)
    push = PushDispatcher(push_provider(settings, http, clock, store), name)
    presigner = public_presigner(settings, settings.s3_public_endpoint)
    recorder = CallRecorder(
        store, s3, settings.s3_bucket, settings.recording_dir, clock, name, presigner
    )
    turn = turn_credentials(settings, clock)
    calls = CallService(store, events, push, turn, recorder, clock, settings.ring_timeout_s, name)
    hub = SignalingHub(Sfu(name), recorder, clock, name)
    calls.listeners.append(hub)
    verifier = TokenVerifier(
        TokenCodec(settings.jwt_key(), clock),
        RevocationList(redis, PostgresRevocations(db), clock),
    )
    return VideoState(calls, hub, recorder, verifier, clock)


def create_video_app(settings: VideoSettings, clock: Clock = SYSTEM_CLOCK) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        name, bucket = settings.service_name, settings.s3_bucket
        db = Database(settings, name)
        redis = ResilientRedis(settings, name, clock)
        await redis.start()
        s3 = ResilientS3(settings, name, clock)
        s3.start_prober(bucket)
        http = httpx.AsyncClient(follow_redirects=False)
        settings.recording_dir.mkdir(parents=True, exist_ok=True)
        clear_spool(settings.recording_dir)
        state = build_state(settings, db, redis, s3, http, clock)
        install_state(
            app,
            state,
            [
                database_dependency(db),
                redis_dependency(redis),
                turn_dependency(state.calls.turn, settings.turn_probe_url),
                s3_dependency(s3, bucket),
            ],
        )
        jobs = {
            "video-bucket": s3.ensure_bucket_eventually(bucket),
            "video-ring-sweeper": state.calls.sweep_forever(),
            "video-revocations": state.hub.end_revoked_forever(state.verifier.revocations),
        }
        try:
            async with running(jobs):
                yield
        finally:
            await state.hub.close_all()
            await state.calls.push.close()
            await http.aclose()
            await s3.close()
            await redis.stop()
            await db.close()

    routers = [routes.router, ws.router]
    if settings.is_local:
        routers.append(debug.router)
    periods = {"signaling_revocation_recheck": REVOCATION_RECHECK_S}
    return create_app(settings, lifespan=lifespan, routers=routers, periods=periods)
