"""VideoSettings: the one settings class of the video service."""

from __future__ import annotations

import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Any, Self

from pydantic import Field, field_validator, model_validator

from secureconnect.common.settings import (
    CommaList,
    DatabaseSettings,
    JwtSettings,
    RedisSettings,
    S3Settings,
    ServiceSettings,
    SettingsError,
    TurnSettings,
    split_commas,
)

#: How long a call rings before it ends unanswered, seconds.
RING_TIMEOUT_S = 45.0


class PushProviderName(StrEnum):
    LOG = "log"
    WEBHOOK = "webhook"
    FCM = "fcm"


class VideoSettings(
    ServiceSettings, DatabaseSettings, RedisSettings, JwtSettings, S3Settings, TurnSettings
):
    service_name: str = "video"
    #: Unanswered calls end after this long, seconds.
    ring_timeout_s: float = Field(default=RING_TIMEOUT_S, gt=0)
    #: Chat instances, for publishing call events over HTTP while Redis is unreachable.
    chat_urls: CommaList = []
    #: S3 endpoint as clients see it, when it differs from SC_S3_ENDPOINT (presigned URLs).
    s3_public_endpoint: str | None = None
    #: Where recordings wait for their upload (one file per participant and call).
    recording_dir: Path = Field(default_factory=lambda: Path(tempfile.gettempdir()) / "sc-video")
    push_provider: PushProviderName = PushProviderName.LOG
    #: The webhook provider POSTs each notification here.
    push_webhook_url: str | None = None
    #: A Firebase service-account JSON file (project_id, client_email, private_key, token_uri).
    fcm_credentials_file: Path | None = None
    #: The FCM HTTP v1 send URL; `{project_id}` is filled in from the credentials file.
    fcm_send_url: str = "https://fcm.googleapis.com/v1/projects/{project_id}/messages:send"

    @field_validator("chat_urls", mode="before")
    @classmethod
    def _split_chat_urls(cls, value: Any) -> Any:  # not `_split`: that would hide TurnSettings'

        return split_commas(value)

    @model_validator(mode="after")
    def _push_provider_configured(self) -> Self:
        if self.push_provider is PushProviderName.WEBHOOK and not self.push_webhook_url:
            raise SettingsError("SC_PUSH_PROVIDER=webhook needs SC_PUSH_WEBHOOK_URL")
        if self.push_provider is PushProviderName.FCM and self.fcm_credentials_file is None:
            raise SettingsError("SC_PUSH_PROVIDER=fcm needs SC_FCM_CREDENTIALS_FILE")
        return self
