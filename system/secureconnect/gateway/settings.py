"""GatewaySettings: the one settings class of the gateway."""

from __future__ import annotations

from typing import Any, Self
from urllib.parse import urlsplit

from pydantic import field_validator, model_validator

from secureconnect.common.settings import (
    CommaList,
    JwtSettings,
    RedisSettings,
    ServiceSettings,
    split_commas,
)

#: Requests per client address per RATE_LIMIT_WINDOW_S.
RATE_LIMIT_PER_ADDRESS = 6000
#: Requests per authenticated user per RATE_LIMIT_WINDOW_S.
RATE_LIMIT_PER_USER = 3000
RATE_LIMIT_WINDOW_S = 60.0
#: Share of the request budget an upstream may spend before the proxy gives up.
UPSTREAM_READ_SHARE = 0.9


class GatewaySettings(ServiceSettings, RedisSettings, JwtSettings):
    service_name: str = "gateway"
    max_body_bytes: int = 1024 * 1024

    auth_url: str | None = None
    chat_urls: CommaList = []
    video_url: str | None = None
    storage_url: str | None = None
    cors_origins: CommaList = []

    upstream_connect_timeout_s: float = 2.0
    #: Defaults to UPSTREAM_READ_SHARE of request_timeout_s.
    upstream_read_timeout_s: float | None = None
    upstream_write_timeout_s: float = 5.0
    upstream_pool_timeout_s: float = 2.0
    upstream_max_connections: int = 200

    rate_limit_per_address: int = RATE_LIMIT_PER_ADDRESS
    rate_limit_per_user: int = RATE_LIMIT_PER_USER

    @field_validator("chat_urls", "cors_origins", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return split_commas(value)

    @field_validator("auth_url", "video_url", "storage_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("auth_url", "video_url", "storage_url", "chat_urls", mode="after")
    @classmethod
    def _origins_only(cls, value: Any) -> Any:
        for url in [value] if isinstance(value, str) else value or []:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"{url!r} is not an http(s) URL")
            if parts.path.strip("/") or parts.query:
                raise ValueError(f"{url!r}: an upstream is scheme://host:port, without a path")
        return value

    @model_validator(mode="after")
    def _derive_read_timeout(self) -> Self:
        if self.upstream_read_timeout_s is None:
            self.upstream_read_timeout_s = self.request_timeout_s * UPSTREAM_READ_SHARE
        return self
