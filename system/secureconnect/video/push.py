"""Push notifications for incoming calls, behind one provider interface.

Providers: `log` (writes a log line; the default, for development), `webhook`
(HTTP POST of a JSON body to a configured URL) and `fcm` (Firebase Cloud
Messaging HTTP v1, see fcm.py). Whatever the provider:

- a notification is sent in the background: placing a call never waits on it;
- transient failures (connection errors, timeouts, 429, 5xx) are retried with
  exponential backoff and jitter, at most PUSH_MAX_ATTEMPTS times and not past
  PUSH_DEADLINE_S (a push arriving after the call stopped ringing is useless);
  a 4xx other than 429 is final;
- every attempt counts in `push_attempts_total{provider,outcome}` and every
  notification that could not be delivered in `push_failures_total{provider}`.
Each notification carries a `push_id`, so a receiver can drop the duplicate
that a retry after a lost response produces.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from prometheus_client import Counter
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

log = logging.getLogger(__name__)

PUSH_MAX_ATTEMPTS = 4
#: No new attempt starts once this much time went into one notification, seconds.
PUSH_DEADLINE_S = 10.0
#: Budget of one HTTP attempt, seconds.
PUSH_ATTEMPT_TIMEOUT_S = 3.0
PUSH_BACKOFF_INITIAL_S = 0.1
PUSH_BACKOFF_MAX_S = 2.0
PUSH_BACKOFF_JITTER_S = 0.1
#: Notifications in flight at once; beyond it new ones are dropped (and counted).
PUSH_MAX_IN_FLIGHT = 256

PUSH_ATTEMPTS = Counter(
    "push_attempts_total", "Push notification attempts", ["service", "provider", "outcome"]
)
PUSH_FAILURES = Counter(
    "push_failures_total",
    "Push notifications not delivered after every attempt",
    ["service", "provider"],
)


class PushError(Exception):
    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class IncomingCallPush:
    push_id: str
    user_id: uuid.UUID
    call_id: uuid.UUID
    conversation_id: uuid.UUID
    caller_id: uuid.UUID
    media: str
    devices: tuple[str, ...]

    def data(self) -> dict[str, str]:
        """The payload, every value a string (FCM's `data` requires it)."""
        return {
            "type": "call.incoming",
            "push_id": self.push_id,
            "user_id": str(self.user_id),
            "call_id": str(self.call_id),
            "conversation_id": str(self.conversation_id),
            "caller_id": str(self.caller_id),
            "media": self.media,
        }


class PushProvider(Protocol):
    name: str

    async def send(self, push: IncomingCallPush) -> None:
        """Deliver, retrying as the module says; raise PushError when it cannot."""
        ...

    async def close(self) -> None: ...


def check_response(response: httpx.Response, what: str) -> None:
    if response.status_code < 300:
        return
    transient = response.status_code == 429 or response.status_code >= 500
    raise PushError(f"{what} answered {response.status_code}", transient=transient)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, PushError):
        return exc.transient
    return isinstance(exc, httpx.TransportError | TimeoutError)


async def with_retries(service: str, provider: str, attempt: Callable[[], Awaitable[None]]) -> None:
    """Run `attempt` under the retry policy; count each try."""
    retrying = AsyncRetrying(
        stop=stop_after_attempt(PUSH_MAX_ATTEMPTS) | stop_after_delay(PUSH_DEADLINE_S),
        wait=wait_exponential_jitter(
            multiplier=PUSH_BACKOFF_INITIAL_S, max=PUSH_BACKOFF_MAX_S, jitter=PUSH_BACKOFF_JITTER_S
        ),
        retry=retry_if_exception(is_transient),
        reraise=True,
    )
    async for try_ in retrying:
        with try_:
            try:
                await attempt()
            except Exception:
                PUSH_ATTEMPTS.labels(service, provider, "error").inc()
                raise
            PUSH_ATTEMPTS.labels(service, provider, "ok").inc()


class LogPushProvider:
    name = "log"

    def __init__(self, service: str) -> None:
        self.service = service

    async def send(self, push: IncomingCallPush) -> None:
        PUSH_ATTEMPTS.labels(self.service, self.name, "ok").inc()
        log.info("push (log provider)", extra=push.data())

    async def close(self) -> None:
        return None


class WebhookPushProvider:
    name = "webhook"

    def __init__(self, service: str, url: str, http: httpx.AsyncClient) -> None:
        self.service = service
        self.url = url
        self.http = http

    async def send(self, push: IncomingCallPush) -> None:
        body: dict[str, Any] = {**push.data(), "devices": list(push.devices)}

        async def attempt() -> None:
            response = await self.http.post(
                self.url,
                json=body,
                headers={"X-Push-Id": push.push_id},
                timeout=PUSH_ATTEMPT_TIMEOUT_S,
            )
            check_response(response, "the push webhook")

        await with_retries(self.service, self.name, attempt)

    async def close(self) -> None:
        return None


class PushDispatcher:
    """Sends notifications in the background and keeps track of them."""

    def __init__(self, provider: PushProvider, service: str) -> None:
        self.provider = provider
        self.service = service
        self._in_flight: set[asyncio.Task[None]] = set()

    def submit(self, pushes: list[IncomingCallPush]) -> None:
        for push in pushes:
            if len(self._in_flight) >= PUSH_MAX_IN_FLIGHT:
                PUSH_FAILURES.labels(self.service, self.provider.name).inc()
                log.warning("push dropped: too many in flight", extra={"push_id": push.push_id})
                continue
            task = asyncio.create_task(self._deliver(push), name=f"push-{push.push_id}")
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    async def _deliver(self, push: IncomingCallPush) -> None:
        try:
            await self.provider.send(push)
        except Exception as exc:  # every failure is final here: counted, logged, dropped
            PUSH_FAILURES.labels(self.service, self.provider.name).inc()
            log.warning(
                "push not delivered",
                extra={"push_id": push.push_id, "provider": self.provider.name, "error": str(exc)},
            )

    async def drain(self) -> None:
        """Wait for the notifications in flight (tests, and a graceful stop)."""
        while self._in_flight:
            await asyncio.gather(*list(self._in_flight), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._in_flight):
            task.cancel()
        await asyncio.gather(*list(self._in_flight), return_exceptions=True)
        await self.provider.close()
