"""Settings read *_FILE secrets and refuse placeholders outside local runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from secureconnect.auth.settings import AuthSettings
from secureconnect.common.settings import LOCAL_JWT_SECRET, MIN_SECRET_CHARS
from secureconnect.gateway.settings import UPSTREAM_READ_SHARE, GatewaySettings

STRONG = "s" * MIN_SECRET_CHARS + "-strong"


@pytest.fixture
def secrets_dir(tmp_path: Path) -> Path:
    for name in ("db", "redis", "jwt"):
        (tmp_path / name).write_text(f"{name}-{STRONG}\n")
    (tmp_path / "ca.pem").write_text("not used here")
    return tmp_path


def production_env(monkeypatch: pytest.MonkeyPatch, secrets_dir: Path) -> None:
    monkeypatch.setenv("SC_ENVIRONMENT", "production")
    monkeypatch.setenv("SC_DB_PASSWORD_FILE", str(secrets_dir / "db"))
    monkeypatch.setenv("SC_REDIS_PASSWORD_FILE", str(secrets_dir / "redis"))
    monkeypatch.setenv("SC_JWT_SECRET_FILE", str(secrets_dir / "jwt"))
    monkeypatch.setenv("SC_DB_SSL_CA_FILE", str(secrets_dir / "ca.pem"))


def test_secrets_come_from_files(monkeypatch, secrets_dir):
    production_env(monkeypatch, secrets_dir)
    settings = AuthSettings()
    assert settings.db_password is not None
    assert settings.db_password.get_secret_value() == f"db-{STRONG}"  # newline stripped
    assert settings.jwt_key() == f"jwt-{STRONG}"
    assert settings.service_name == "auth"


def test_plain_variant_works_and_both_is_an_error(monkeypatch, secrets_dir):
    production_env(monkeypatch, secrets_dir)
    monkeypatch.delenv("SC_JWT_SECRET_FILE")
    monkeypatch.setenv("SC_JWT_SECRET", f"plain-{STRONG}")
    assert AuthSettings().jwt_key() == f"plain-{STRONG}"
    monkeypatch.setenv("SC_JWT_SECRET_FILE", str(secrets_dir / "jwt"))
    with pytest.raises(ValidationError, match="not both"):
        AuthSettings()


@pytest.mark.parametrize("value", ["", "changeme", "secret", "short"])
def test_production_refuses_weak_secrets(monkeypatch, secrets_dir, value):
    production_env(monkeypatch, secrets_dir)
    (secrets_dir / "jwt").write_text(value)
    with pytest.raises(ValidationError, match="SC_JWT_SECRET"):
        AuthSettings()


def test_production_refuses_missing_secret_and_missing_tls(monkeypatch, secrets_dir):
    production_env(monkeypatch, secrets_dir)
    monkeypatch.delenv("SC_REDIS_PASSWORD_FILE")
    with pytest.raises(ValidationError, match="SC_REDIS_PASSWORD"):
        AuthSettings()
    production_env(monkeypatch, secrets_dir)
    monkeypatch.delenv("SC_DB_SSL_CA_FILE")
    with pytest.raises(ValidationError, match="SC_DB_SSL_CA_FILE"):
        AuthSettings()


def test_unreadable_secret_file_is_refused(monkeypatch, secrets_dir):
    production_env(monkeypatch, secrets_dir)
    monkeypatch.setenv("SC_DB_PASSWORD_FILE", str(secrets_dir / "missing"))
    with pytest.raises(ValidationError, match="cannot read secret file"):
        AuthSettings()


def test_local_allows_defaults(monkeypatch):
    monkeypatch.setenv("SC_ENVIRONMENT", "local")
    settings = AuthSettings()
    assert settings.jwt_key() == LOCAL_JWT_SECRET
    assert settings.db_ssl_ca_file is None


def test_gateway_lists_and_derived_timeouts(monkeypatch):
    monkeypatch.setenv("SC_ENVIRONMENT", "test")
    monkeypatch.setenv("SC_CHAT_URLS", "http://a:1, http://b:2,")
    monkeypatch.setenv("SC_CORS_ORIGINS", "https://x.example")
    monkeypatch.setenv("SC_VIDEO_URL", "")
    monkeypatch.setenv("SC_REQUEST_TIMEOUT_S", "4")
    settings = GatewaySettings()
    assert settings.chat_urls == ["http://a:1", "http://b:2"]
    assert settings.cors_origins == ["https://x.example"]
    assert settings.video_url is None
    assert settings.upstream_read_timeout_s == pytest.approx(4 * UPSTREAM_READ_SHARE)
