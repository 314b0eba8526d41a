"""The chat service's app: resources opened in the lifespan, wired once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from secureconnect.chat import metrics, poll_routes, routes, ws
from secureconnect.chat.deps import ChatState
from secureconnect.chat.events import SESSION_REVOKED
from secureconnect.chat.fanout import EventBus
from secureconnect.chat.hub import ConnectionHub
from secureconnect.chat.poll_store import PollStore
from secureconnect.chat.polls import PollService
from secureconnect.chat.presence import (
    LAST_SEEN_TTL_S,
    PRESENCE_REFRESH_S,
    PRESENCE_TTL_S,
    PresenceService,
)
from secureconnect.chat.presence_store import PresenceStore
from secureconnect.chat.service import ChatService
from secureconnect.chat.settings import ChatSettings
from secureconnect.chat.sockets import REVOCATION_RECHECK_S, SocketService
from secureconnect.chat.store import ConversationStore, MessageStore
from secureconnect.chat.typing_indicator import (
    TYPING_THROTTLE_S,
    TYPING_TIMEOUT_S,
    TypingService,
)
from secureconnect.chat.typing_store import TypingStore
from secureconnect.common.app import create_app
from secureconnect.common.clock import SYSTEM_CLOCK, Clock
from secureconnect.common.db import Database
from secureconnect.common.deps import install_state
from secureconnect.common.health import Dependency, DependencyState
from secureconnect.common.probes import database_dependency, redis_dependency
from secureconnect.common.resilient_redis import ResilientRedis
from secureconnect.common.revocations_pg import PostgresRevocations
from secureconnect.common.scope import UserScope
from secureconnect.common.tokens import RevocationList, TokenCodec, TokenVerifier


def bus_dependency(bus: EventBus, redis: ResilientRedis) -> Dependency:
    """Fan-out to other instances: degraded (local delivery only) while not subscribed."""

    async def check() -> DependencyState:
        ok = bus.subscribed.is_set() and not redis.degraded
        return DependencyState.OK if ok else DependencyState.DEGRADED

    return Dependency("event_bus", check, required=False)


def build_state(
    settings: ChatSettings, db: Database, redis: ResilientRedis, clock: Clock
) -> ChatState:
    name = settings.service_name
    metrics.initialise(name)
    scope = UserScope(db)
    conversations = ConversationStore(scope)
    hub = ConnectionHub(clock, name)
    bus = EventBus(settings, redis, hub, settings.instance_id, clock)
    presence_store = PresenceStore(redis, settings.instance_id, PRESENCE_TTL_S, LAST_SEEN_TTL_S)
    presence = PresenceService(presence_store, bus, clock)
    typing_store = TypingStore(redis, TYPING_TIMEOUT_S, TYPING_THROTTLE_S)
    typing = TypingService(typing_store, bus, clock)
    chat = ChatService(conversations, MessageStore(scope), bus, typing, presence, clock, name)
    revocations = RevocationList(redis, PostgresRevocations(db), clock)
    verifier = TokenVerifier(TokenCodec(settings.jwt_key(), clock), revocations)
    sockets = SocketService(hub, presence, conversations, revocations, clock, settings.instance_id)
    bus.observe(SESSION_REVOKED, sockets.on_revoked)
    return ChatState(
        chat=chat,
        polls=PollService(PollStore(scope), bus, clock),
        sockets=sockets,
        bus=bus,
        verifier=verifier,
        jwt_key=settings.jwt_key(),
        clock=clock,
    )


def create_chat_app(settings: ChatSettings, clock: Clock = SYSTEM_CLOCK) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings, settings.service_name)
        redis = ResilientRedis(settings, settings.service_name, clock)
        state = build_state(settings, db, redis, clock)
        presence, bus, hub = state.chat.presence, state.bus, state.sockets.hub
        # Presence first: the bus resubscribing is not worth delaying the write-back.
        redis.on_recovery(presence.write_back)
        redis.on_recovery(bus.wake)
        await redis.start()
        bus.start()
        hub.start()
        state.sockets.start()
        presence.start()
        state.chat.typing.start()
        state.polls.start()
        install_state(
            app,
            state,
            [database_dependency(db), redis_dependency(redis), bus_dependency(bus, redis)],
        )
        try:
            yield
        finally:
            hub.stop()
            await state.sockets.stop()
            state.chat.typing.stop()
            await state.polls.stop()
            await presence.stop()
            await bus.stop()
            await redis.stop()
            await db.close()

    return create_app(
        settings,
        lifespan=lifespan,
        routers=[routes.router, poll_routes.router, ws.router],
        periods={
            "presence_refresh": PRESENCE_REFRESH_S,
            "presence_ttl": PRESENCE_TTL_S,
            "typing_timeout": TYPING_TIMEOUT_S,
            "revocation_recheck": REVOCATION_RECHECK_S,
        },
    )
