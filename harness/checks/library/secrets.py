"""Secrets and bearer tokens must never reach a log."""

from __future__ import annotations

import re
from typing import Any

from harness.checks.library.compose_rendered import Rendered
from harness.checks.library.config_audit import environment_of, mounted_secrets, secret_file_defect

#: A JWT: three base64url parts, the first two JSON objects ("eyJ" = '{"').
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
SHORTEST_SECRET = 12


def redact(line: str, secrets: list[str]) -> str:
    line = JWT.sub("<jwt>", line)
    for secret in secrets:
        line = line.replace(secret, "<secret>")
    return line[:300]


def leaks(logs: dict[str, str], secrets: list[str]) -> list[str]:
    """One entry per component whose log holds a token or a secret value (redacted)."""
    secrets = [s for s in secrets if len(s) >= SHORTEST_SECRET]
    found = []
    for component, text in logs.items():
        for line in text.splitlines():
            if JWT.search(line) or any(s in line for s in secrets):
                found.append(f"{component}: {redact(line, secrets)}")
                break
    return found


#: Every secret of the deployment (compose's secrets, its public certificates aside),
#: and the environment variables that would carry its value in plain.
DEPLOYMENT_SECRETS: dict[str, tuple[str, ...]] = {
    "db_password": ("SC_DB_PASSWORD",),
    "postgres_superuser_password": ("POSTGRES_PASSWORD",),
    "redis_password": ("SC_REDIS_PASSWORD", "REDIS_PASSWORD"),
    "s3_access_key": ("SC_S3_ACCESS_KEY", "MINIO_ROOT_USER"),
    "s3_secret_key": ("SC_S3_SECRET_KEY", "MINIO_ROOT_PASSWORD"),
    "jwt_secret": ("SC_JWT_SECRET",),
    "turn_secret": ("SC_TURN_SECRET",),
    "storage_encryption_key": ("SC_STORAGE_ENCRYPTION_KEY",),
    "minio_kms_key": ("MINIO_KMS_SECRET_KEY",),
    "smtp_username": ("SC_SMTP_USERNAME",),
    "smtp_password": ("SC_SMTP_PASSWORD",),
    "tls_server_key": (),
    "alert_webhook_token": (),
    "grafana_admin_password": ("GF_SECURITY_ADMIN_PASSWORD",),
}


def _setting_defects(secret: str, name: str, service: dict[str, Any]) -> list[str]:
    """The service's settings for `secret`: never plain, every `*_FILE` on a mounted secret."""
    env = environment_of(service)
    defects = []
    for key in DEPLOYMENT_SECRETS[secret]:
        if key in env:
            defects.append(f"{name}: {key} carries {secret} as a plain environment value")
        for file_key in (f"{key}_FILE", f"{key}__FILE"):
            defect = secret_file_defect(name, service, file_key, env.get(file_key, ""))
            if file_key in env and defect is not None:
                defects.append(defect)
    return defects


def source_defects(secret: str, stacks: list[Rendered]) -> list[str]:
    """`secret` is a Docker secret read from a file, mounted by the services that use it,
    and never handed to a container as a plain environment value."""
    defects = [f"{r.name}: compose refuses it: {r.error}" for r in stacks if r.error]
    declared = {r.name: r.secrets[secret] or {} for r in stacks if secret in r.secrets}
    if not declared:
        defects.append(f"{secret} is not a Docker secret of the deployment")
    for stack, spec in declared.items():
        if "file" not in spec:
            defects.append(f"{stack}: secret {secret} is not read from a file: {spec}")
    services = {f"{r.name} {n}": s for r in stacks for n, s in r.services.items()}
    if not any(secret in mounted_secrets(s) for s in services.values()):
        defects.append(f"no service mounts {secret} as a Docker secret")
    for name, service in services.items():
        defects += _setting_defects(secret, name, service)
    return defects


def holders(logs: dict[str, str], value: str) -> list[str]:
    """The components whose log holds `value`."""
    return [component for component, text in logs.items() if value and value in text]
