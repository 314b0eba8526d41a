"""StorageSettings: the one settings class of the storage service."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr

from secureconnect.common.settings import (
    DatabaseSettings,
    JwtSettings,
    RedisSettings,
    S3Settings,
    ServiceSettings,
)

#: Local/test fallback so a developer can start the service bare; refused elsewhere.
LOCAL_STORAGE_KEY = "local-only-insecure-storage-key-do-not-deploy"
#: Bytes each user may store (completed files plus live reservations).
DEFAULT_QUOTA_BYTES = 1024 * 1024 * 1024
#: Largest single file, bytes (downloads are decrypted through the service).
MAX_FILE_BYTES = 100 * 1024 * 1024


class StorageSettings(ServiceSettings, DatabaseSettings, RedisSettings, JwtSettings, S3Settings):
    required_secrets: ClassVar[tuple[str, ...]] = ("storage_encryption_key",)

    service_name: str = "storage"
    #: The master secret of envelope encryption (see storage/envelope.py).
    storage_encryption_key: SecretStr | None = None
    storage_encryption_key_file: Path | None = None
    storage_quota_bytes: int = Field(DEFAULT_QUOTA_BYTES, gt=0)
    storage_max_file_bytes: int = Field(MAX_FILE_BYTES, gt=0)
    #: Where clients reach the API (download URLs point here): the gateway.
    public_base_url: str = "http://localhost:8080"
    #: S3 endpoint as clients see it, when it differs from SC_S3_ENDPOINT (presigned URLs).
    s3_public_endpoint: str | None = None

    def encryption_secret(self) -> str:
        key = self.storage_encryption_key
        if key is not None and key.get_secret_value():
            return key.get_secret_value()
        return LOCAL_STORAGE_KEY  # only reachable locally: the check refuses it elsewhere
