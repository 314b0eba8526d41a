"""Login and registration throttles (auth/throttle.py), with a manual clock and
Redis's in-memory fallback: a stranger slows down untrusted logins to an account,
never its owner's logins from a device they used before."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import AsyncIterator

import pytest
from secureconnect.auth.devices import DEVICE_TOKEN_TTL_S, DeviceTokens
from secureconnect.auth.throttle import (
    LOGIN_BACKOFF_MAX_S,
    LOGIN_WINDOW_S,
    LoginAttempt,
    LoginGuard,
    ThrottlePolicy,
    backoff_s,
)
from secureconnect.common.clock import ManualClock
from secureconnect.common.errors import DomainError
from secureconnect.common.ratelimit import RateLimiter
from secureconnect.common.resilient_redis import FAILURES_TO_DEGRADE, ResilientRedis
from secureconnect.common.settings import RedisSettings

from harness.platform.ports import free_port

KEY = "unit-test-key-that-is-long-enough-for-hs256"
OWNER = uuid.UUID("2d8f0c3a-6b1e-4f7a-9c5d-1e2f3a4b5c6d")
POLICY = ThrottlePolicy(
    failures_per_address=8,
    failures_per_account=3,
    failures_per_device=2,
    registrations_per_address=2,
    exempt_networks=(ipaddress.ip_network("10.9.0.0/16"),),
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=9000.0)  # a window boundary


@pytest.fixture
async def guard(clock: ManualClock) -> AsyncIterator[LoginGuard]:
    redis = ResilientRedis(RedisSettings(redis_port=free_port()), "unit-throttle", clock)
    for _ in range(FAILURES_TO_DEGRADE):
        redis.machine.record_failure()  # serve from memory without touching the network
    yield LoginGuard(redis, RateLimiter(redis, "unit-throttle", clock), POLICY, clock)
    await redis.stop()


async def refused(guard: LoginGuard, attempt: LoginAttempt) -> DomainError:
    with pytest.raises(DomainError) as caught:
        await guard.admit_login(attempt)
    assert caught.value.status == 429
    return caught.value


async def fail(guard: LoginGuard, attempt: LoginAttempt, times: int) -> None:
    for _ in range(times):
        await guard.failed(attempt, await guard.admit_login(attempt))


def test_backoff_doubles_after_the_free_failures_and_is_capped():
    assert [backoff_s(n, 3) for n in range(1, 8)] == [0, 0, 0, 1, 2, 4, 8]
    assert backoff_s(1000, 3) == LOGIN_BACKOFF_MAX_S


async def test_a_stranger_closes_the_account_to_strangers_only(guard, clock):
    stranger = LoginAttempt("owner@example.com", "203.0.113.7", None)
    await fail(guard, stranger, POLICY.failures_per_account + 1)
    assert (await refused(guard, stranger)).retry_after == pytest.approx(1.0)
    other_stranger = LoginAttempt("owner@example.com", "198.51.100.9", None)
    await refused(guard, other_stranger)  # per account, whatever the address
    owner_on_known_device = LoginAttempt("owner@example.com", "203.0.113.7", "device-1")
    assert await guard.admit_login(owner_on_known_device) is True
    clock.advance(1.0)
    await fail(guard, stranger, 1)  # the next failure doubles the backoff
    assert (await refused(guard, stranger)).retry_after == pytest.approx(2.0)


async def test_refused_attempts_do_not_lengthen_the_backoff(guard, clock):
    stranger = LoginAttempt("owner@example.com", "203.0.113.7", None)
    await fail(guard, stranger, POLICY.failures_per_account + 1)
    for _ in range(20):
        await refused(guard, stranger)
    clock.advance(1.0)
    assert await guard.admit_login(stranger) is False


async def test_a_device_that_fails_too_often_is_trusted_no_more(guard):
    thief = LoginAttempt("owner@example.com", "203.0.113.7", "stolen-device")
    for _ in range(POLICY.failures_per_device):
        assert await guard.admit_login(thief) is True
        await guard.failed(thief, trusted=True)
    assert await guard.admit_login(thief) is False  # from now on, a stranger


async def test_address_throttle_spans_accounts_and_ends_with_the_window(guard, clock):
    for n in range(POLICY.failures_per_address):
        await fail(guard, LoginAttempt(f"user-{n}@example.com", "203.0.113.7", None), 1)
    elsewhere = LoginAttempt("fresh@example.com", "203.0.113.7", None)
    assert (await refused(guard, elsewhere)).retry_after == pytest.approx(LOGIN_WINDOW_S)
    assert await guard.admit_login(LoginAttempt("fresh@example.com", "192.0.2.1", None)) is False
    clock.advance(LOGIN_WINDOW_S)
    assert await guard.admit_login(elsewhere) is False


async def test_registrations_per_address_and_exempt_networks(guard):
    for _ in range(POLICY.registrations_per_address):
        await guard.admit_registration("203.0.113.7")
    with pytest.raises(DomainError) as caught:
        await guard.admit_registration("203.0.113.7")
    assert caught.value.status == 429
    for _ in range(10 * POLICY.registrations_per_address):
        await guard.admit_registration("10.9.1.2")  # a deployment's own load generator
    await fail(guard, LoginAttempt("x@example.com", "10.9.1.2", None), POLICY.failures_per_account)
    await fail(guard, LoginAttempt("x@example.com", "10.9.1.2", None), 1)
    await refused(guard, LoginAttempt("x@example.com", "10.9.1.2", None))  # per account still


def test_device_tokens_belong_to_one_user_and_expire(clock):
    devices = DeviceTokens(KEY, clock)
    token = devices.issue(str(OWNER))
    device = devices.device_of(token, OWNER)
    assert device is not None and device in token
    assert devices.device_of(token, uuid.uuid4()) is None
    assert devices.device_of(token, None) is None
    assert devices.device_of(token[:-2] + "xx", OWNER) is None
    assert DeviceTokens("another-key-that-is-long-enough", clock).device_of(token, OWNER) is None
    for garbage in ("", "dt1", "dt1.a.b.c.d", token.replace("dt1", "dt2")):
        assert devices.device_of(garbage, OWNER) is None
    clock.advance(DEVICE_TOKEN_TTL_S)
    assert devices.device_of(token, OWNER) is None
