"""Settings: the only place that reads the environment.

Every service has one pydantic-settings class built from these mixins
(`AuthSettings(ServiceSettings, DatabaseSettings, RedisSettings, ...)`).
Variables carry the `SC_` prefix. Every secret `x` can be given as `SC_X`
or, preferably, as a file path in `SC_X_FILE` (Docker/Kubernetes secrets).
Outside `local`/`test` environments a required secret that is missing,
empty, a well-known placeholder or too short refuses to start the service.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, ClassVar, Self

from pydantic import SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: Values that are never acceptable as a secret outside local runs.
PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "secret", "password", "default", "admin", "dev", "test"}
)
#: Shortest secret accepted outside local runs, in characters.
MIN_SECRET_CHARS = 16
#: Local/test fallback for the JWT key so a developer can start a service bare.
LOCAL_JWT_SECRET = "local-only-insecure-jwt-secret-do-not-deploy"

CommaList = Annotated[list[str], NoDecode]


class Environment(StrEnum):
    LOCAL = "local"
    TEST = "test"
    PRODUCTION = "production"


class SettingsError(ValueError):
    """Configuration that must not start a service."""


def split_commas(value: Any) -> Any:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def read_secret_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SettingsError(f"cannot read secret file {path}: {exc.strerror}") from exc


class SecureConnectSettings(BaseSettings):
    """Base of every settings class and mixin, so they all share one config
    (pydantic merges the configs of all bases; one without the prefix would
    reset it)."""

    model_config = SettingsConfigDict(env_prefix="SC_", extra="ignore")


class ServiceSettings(SecureConnectSettings):
    """What every service has: identity, environment, HTTP budgets, logging."""

    required_secrets: ClassVar[tuple[str, ...]] = ()

    environment: Environment = Environment.PRODUCTION
    service_name: str = "secureconnect"
    #: Whole-request time budget, seconds; exceeded → 504.
    request_timeout_s: float = 10.0
    #: Largest accepted request body, bytes; larger → 413.
    max_body_bytes: int = 64 * 1024
    log_level: str = "INFO"

    @property
    def is_local(self) -> bool:
        return self.environment in (Environment.LOCAL, Environment.TEST)

    @model_validator(mode="after")
    def _resolve_secret_files(self) -> Self:
        for name in type(self).model_fields:
            file_field = f"{name}_file"
            path = (
                getattr(self, file_field, None) if file_field in type(self).model_fields else None
            )
            if path is None:
                continue
            if getattr(self, name) is not None:
                raise SettingsError(f"set SC_{name.upper()} or SC_{file_field.upper()}, not both")
            object.__setattr__(self, name, SecretStr(read_secret_file(Path(path))))
        self._check_required_secrets()
        return self

    def _check_required_secrets(self) -> None:
        required = {s for cls in type(self).__mro__ for s in vars(cls).get("required_secrets", ())}
        for name in sorted(required):
            secret: SecretStr | None = getattr(self, name)
            value = secret.get_secret_value() if secret is not None else ""
            if self.is_local:
                continue
            if value.lower() in PLACEHOLDER_SECRETS or len(value) < MIN_SECRET_CHARS:
                raise SettingsError(
                    f"SC_{name.upper()}(_FILE) is missing, a placeholder or shorter than "
                    f"{MIN_SECRET_CHARS} characters; refusing to start in {self.environment}"
                )


class DatabaseSettings(SecureConnectSettings):
    required_secrets: ClassVar[tuple[str, ...]] = ("db_password",)

    db_host: str = "127.0.0.1"
    db_port: int = 5432
    db_name: str = "secureconnect"
    db_user: str = "secureconnect"
    db_password: SecretStr | None = None
    db_password_file: Path | None = None
    #: PEM CA bundle; when set the connection is TLS with verify-full.
    db_ssl_ca_file: Path | None = None
    #: Connections kept open: at least the concurrency a service sees, since an overflow
    #: connection costs a TLS handshake and is closed again when it is returned.
    db_pool_size: int = 10
    db_max_overflow: int = 5
    db_pool_timeout_s: float = 2.0
    db_connect_timeout_s: float = 3.0
    db_statement_timeout_ms: int = 5000
    db_query_timeout_s: float = 5.0

    @model_validator(mode="after")
    def _require_tls_outside_local(self) -> Self:
        environment = getattr(self, "environment", Environment.PRODUCTION)
        if self.db_ssl_ca_file is None and environment == Environment.PRODUCTION:
            raise SettingsError("SC_DB_SSL_CA_FILE is required in production (TLS verify-full)")
        return self


class RedisSettings(SecureConnectSettings):
    required_secrets: ClassVar[tuple[str, ...]] = ("redis_password",)

    redis_host: str = "127.0.0.1"
    redis_port: int = 6379
    redis_password: SecretStr | None = None
    redis_password_file: Path | None = None


class JwtSettings(SecureConnectSettings):
    required_secrets: ClassVar[tuple[str, ...]] = ("jwt_secret",)

    jwt_secret: SecretStr | None = None
    jwt_secret_file: Path | None = None

    def jwt_key(self) -> str:
        if self.jwt_secret is not None and self.jwt_secret.get_secret_value():
            return self.jwt_secret.get_secret_value()
        return LOCAL_JWT_SECRET  # only reachable locally: the check above refuses it elsewhere


class SmtpSettings(SecureConnectSettings):
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_from: str = "SecureConnect <no-reply@secureconnect.local>"
    smtp_username: SecretStr | None = None
    smtp_username_file: Path | None = None
    smtp_password: SecretStr | None = None
    smtp_password_file: Path | None = None
    smtp_starttls: bool = False
    smtp_timeout_s: float = 5.0
    #: Where links in mails point (the gateway's public address).
    public_base_url: str = "http://localhost:8080"


class S3Settings(SecureConnectSettings):
    required_secrets: ClassVar[tuple[str, ...]] = ("s3_access_key", "s3_secret_key")

    s3_endpoint: str = "http://127.0.0.1:9000"
    s3_access_key: SecretStr | None = None
    s3_access_key_file: Path | None = None
    s3_secret_key: SecretStr | None = None
    s3_secret_key_file: Path | None = None
    s3_bucket: str = "secureconnect"


class TurnSettings(SecureConnectSettings):
    required_secrets: ClassVar[tuple[str, ...]] = ("turn_secret",)

    #: What clients are given (public addresses).
    turn_urls: CommaList = []
    #: Where the service itself checks TURN from, when the public address is not reachable
    #: from inside its network (a container behind NAT): e.g. turn:coturn:3478. Default:
    #: the first of turn_urls.
    turn_probe_url: str | None = None
    turn_secret: SecretStr | None = None
    turn_secret_file: Path | None = None

    @field_validator("turn_urls", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return split_commas(value)
