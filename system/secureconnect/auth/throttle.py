"""Login and registration throttles, and why a stranger cannot lock an owner out.

Policy (the "device cookie" scheme of OWASP's authentication guidance):
- A login that carries a genuine device token of the account (devices.py: the
  client logged into this account before) is *trusted*: neither the account's nor
  the address's throttle applies to it. Its failures count against that device
  only; after `login_failures_per_device` of them in LOGIN_WINDOW_S the token is
  no longer trusted, so a stolen device token buys a guesser nothing.
- Other logins are *untrusted*, throttled per client address (after
  `login_failures_per_address` failures in LOGIN_WINDOW_S the address gets 429
  until the window ends) and per account: the first `login_failures_per_account`
  failures are free, then each further failure closes the account to untrusted
  logins for a backoff that doubles (LOGIN_BACKOFF_BASE_S, twice that, ... at most
  LOGIN_BACKOFF_MAX_S). Attempts refused while it is closed check no password and
  are not counted, so they cannot lengthen it.
So a stranger who knows an e-mail address can slow down untrusted logins to that
account, never its owner's logins from a device they used before; an owner on a
new device waits at most LOGIN_BACKOFF_MAX_S for the next attempt.
- Registration attempts count per client address (`registrations_per_address` in
  REGISTRATION_WINDOW_S), before anything else is done: no hash, no mail.
- Clients in `throttle_exempt_networks` (a deployment's own probes and load
  generators) are not counted per address; per account and per device they are.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from secureconnect.common.clock import Clock
from secureconnect.common.errors import DomainError
from secureconnect.common.ratelimit import RateLimit, RateLimiter
from secureconnect.common.resilient_redis import ResilientRedis

LOGIN_WINDOW_S = 15 * 60
LOGIN_FAILURES_PER_ACCOUNT = 5
LOGIN_FAILURES_PER_ADDRESS = 30
LOGIN_FAILURES_PER_DEVICE = 5
LOGIN_BACKOFF_BASE_S = 1.0
LOGIN_BACKOFF_MAX_S = 5 * 60
REGISTRATION_WINDOW_S = 60 * 60
REGISTRATIONS_PER_ADDRESS = 20
CLOSED_KEY_PREFIX = "login_closed:"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class ThrottlePolicy:
    failures_per_address: int = LOGIN_FAILURES_PER_ADDRESS
    failures_per_account: int = LOGIN_FAILURES_PER_ACCOUNT
    failures_per_device: int = LOGIN_FAILURES_PER_DEVICE
    registrations_per_address: int = REGISTRATIONS_PER_ADDRESS
    exempt_networks: tuple[Network, ...] = ()


@dataclass(frozen=True)
class LoginAttempt:
    #: The account's e-mail address, normalised.
    email: str
    client: str
    #: The device id of a genuine device token of the account, else None.
    device: str | None


def backoff_s(failures: int, free: int) -> float:
    """How long the account stays closed to untrusted logins after `failures`."""
    beyond = failures - free
    if beyond <= 0:
        return 0.0
    return min(LOGIN_BACKOFF_BASE_S * 2 ** min(beyond - 1, 32), LOGIN_BACKOFF_MAX_S)


class LoginGuard:
    def __init__(
        self, redis: ResilientRedis, limiter: RateLimiter, policy: ThrottlePolicy, clock: Clock
    ) -> None:
        self.redis = redis
        self.limiter = limiter
        self.policy = policy
        self.clock = clock
        self.per_address = RateLimit("login_address", policy.failures_per_address, LOGIN_WINDOW_S)
        self.per_account = RateLimit("login_account", 2**31, LOGIN_WINDOW_S)
        self.per_device = RateLimit("login_device", policy.failures_per_device, LOGIN_WINDOW_S)
        self.registrations = RateLimit(
            "registration_address", policy.registrations_per_address, REGISTRATION_WINDOW_S
        )

    def exempt(self, client: str) -> bool:
        try:
            address = ipaddress.ip_address(client)
        except ValueError:
            return False
        return any(address in network for network in self.policy.exempt_networks)

    async def admit_registration(self, client: str) -> None:
        if not self.exempt(client):
            await self.limiter.hit([(self.registrations, client)])

    async def admit_login(self, attempt: LoginAttempt) -> bool:
        """True when the attempt is trusted; 429 when an untrusted one is throttled."""
        if attempt.device is not None:
            try:
                await self.limiter.check([(self.per_device, attempt.device)])
                return True
            except DomainError:
                pass  # a device that failed too often is trusted no more
        if not self.exempt(attempt.client):
            await self.limiter.check([(self.per_address, attempt.client)])
        closed_until = await self.redis.get(CLOSED_KEY_PREFIX + attempt.email)
        if closed_until is not None and float(closed_until) > self.clock.now():
            raise self.limiter.refusal(self.per_account, float(closed_until) - self.clock.now())
        return False

    async def failed(self, attempt: LoginAttempt, trusted: bool) -> None:
        if trusted:
            assert attempt.device is not None
            await self.limiter.count([(self.per_device, attempt.device)])
            return
        counted = [(self.per_account, attempt.email)]
        if not self.exempt(attempt.client):
            counted.append((self.per_address, attempt.client))
        (_, _, failures), *_ = await self.limiter.count(counted)
        closed_for = backoff_s(failures, self.policy.failures_per_account)
        if closed_for > 0:
            until = self.clock.now() + closed_for
            await self.redis.set(CLOSED_KEY_PREFIX + attempt.email, repr(until), closed_for)
