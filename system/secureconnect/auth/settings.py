"""AuthSettings: the one settings class of the auth service."""

from __future__ import annotations

from typing import Any

from pydantic import field_validator

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

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return split_commas(value)
