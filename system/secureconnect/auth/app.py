"""The auth service's app: resources opened in the lifespan, wired once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from secureconnect.auth.deps import AuthState
from secureconnect.auth.devices import DeviceTokens
from secureconnect.auth.mailer import Mailer
from secureconnect.auth.routes import router
from secureconnect.auth.service import SESSION_EVENTS, AuthService
from secureconnect.auth.settings import AuthSettings
from secureconnect.auth.store import SessionStore, UserStore
from secureconnect.auth.throttle import LoginGuard
from secureconnect.common.app import create_app
from secureconnect.common.bus import BusPublisher
from secureconnect.common.clock import SYSTEM_CLOCK, Clock
from secureconnect.common.db import Database
from secureconnect.common.deps import install_state
from secureconnect.common.probes import database_dependency, redis_dependency, tcp_dependency
from secureconnect.common.ratelimit import RateLimiter
from secureconnect.common.resilient_redis import ResilientRedis
from secureconnect.common.revocations_pg import PostgresRevocations
from secureconnect.common.tokens import RevocationList, TokenCodec, TokenVerifier


def create_auth_app(settings: AuthSettings, clock: Clock = SYSTEM_CLOCK) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        name = settings.service_name
        db = Database(settings, name)
        redis = ResilientRedis(settings, name, clock)
        mailer = Mailer(settings)
        http = httpx.AsyncClient(follow_redirects=False)
        key = settings.jwt_key()
        bus = BusPublisher(redis, settings.chat_urls, key, clock, http, SESSION_EVENTS)
        codec = TokenCodec(key, clock)
        revocations = RevocationList(redis, PostgresRevocations(db), clock)
        service = AuthService(
            settings,
            users=UserStore(db),
            sessions=SessionStore(redis),
            codec=codec,
            revocations=revocations,
            guard=LoginGuard(
                redis, RateLimiter(redis, name, clock), settings.throttle_policy(), clock
            ),
            devices=DeviceTokens(key, clock),
            bus=bus,
            mailer=mailer,
            clock=clock,
        )
        await redis.start()  # after the stores registered their recovery hooks
        install_state(
            app,
            AuthState(service, TokenVerifier(codec, revocations), settings),
            [
                database_dependency(db),
                redis_dependency(redis),
                tcp_dependency("smtp", settings.smtp_host, settings.smtp_port, required=False),
            ],
        )
        try:
            yield
        finally:
            await mailer.drain()
            await http.aclose()
            service.close()
            await redis.stop()
            await db.close()

    return create_app(settings, lifespan=lifespan, routers=[router])
