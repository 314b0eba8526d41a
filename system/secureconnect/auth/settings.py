"""AuthSettings: the one settings class of the auth service."""

from __future__ import annotations

import ipaddress
from typing import Any

from pydantic import field_validator

from secureconnect.auth.throttle import (
    LOGIN_FAILURES_PER_ACCOUNT,
    LOGIN_FAILURES_PER_ADDRESS,
    LOGIN_FAILURES_PER_DEVICE,
    REGISTRATIONS_PER_ADDRESS,
    ThrottlePolicy,
)
from secureconnect.common.request_info import DEFAULT_TRUSTED_PROXIES
from secureconnect.common.settings import (
    CommaList,
    DatabaseSettings,
    JwtSettings,
    RedisSettings,
    ServiceSettings,
    SmtpSettings,
    split_commas,
)


class AuthSettings(ServiceSettings, DatabaseSettings, RedisSettings, JwtSettings, SmtpSettings):
    service_name: str = "auth"
    #: Peers allowed to tell us the client address (X-Forwarded-For): the gateway.
    trusted_proxies: CommaList = list(DEFAULT_TRUSTED_PROXIES)
    #: Throttles (auth/throttle.py says how they work together).
    login_failures_per_address: int = LOGIN_FAILURES_PER_ADDRESS
    login_failures_per_account: int = LOGIN_FAILURES_PER_ACCOUNT
    login_failures_per_device: int = LOGIN_FAILURES_PER_DEVICE
    registrations_per_address: int = REGISTRATIONS_PER_ADDRESS
    #: Networks (CIDR) whose clients are not counted per address: a deployment's own
    #: probes and load generators. Empty by default.
    throttle_exempt_networks: CommaList = []
    #: Chat instances, to close revoked sessions' sockets while Redis is unreachable.
    chat_urls: CommaList = []

    @field_validator("trusted_proxies", "throttle_exempt_networks", "chat_urls", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return split_commas(value)

    @field_validator("throttle_exempt_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ipaddress.ip_network(network, strict=False)  # ValueError names a bad one
        return value

    def throttle_policy(self) -> ThrottlePolicy:
        return ThrottlePolicy(
            failures_per_address=self.login_failures_per_address,
            failures_per_account=self.login_failures_per_account,
            failures_per_device=self.login_failures_per_device,
            registrations_per_address=self.registrations_per_address,
            exempt_networks=tuple(
                ipaddress.ip_network(n, strict=False) for n in self.throttle_exempt_networks
            ),
        )
