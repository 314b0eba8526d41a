"""Logs carry no bearer token and no secret value; each secret of the deployment is a
Docker secret file in what Docker will run (the rendered compose files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import (
    SECRET_NAMES,
    ApiClient,
    EventListener,
    EvidenceLog,
    Platform,
    check,
    one_check_each,
)
from harness.checks import compose_rendered, secrets


@check(
    "SEC-007",
    "No component logs a bearer token or a secret value",
    category="security",
    severity="HIGH",
    finding="Secrets management: secrets only in files, never in output",
    fix="Redact query strings and headers that carry tokens; never log settings values.",
    impact="Tokens and secrets land in log files, where anyone with log access can take over "
    "accounts or services.",
)
def test_logs_hold_no_tokens_or_secrets(
    stack: Platform, api: ApiClient, gateway_url: str, evidence: EvidenceLog
) -> None:
    session = api.new_session()
    api.me(session.access_token)
    if any(n.startswith("chat") for n in stack.names()):
        # A token in the WebSocket URL is the classic way one ends up in an access log.
        with EventListener(gateway_url, session.access_token) as listener:
            listener.wait_for(lambda e: e["type"] == "ready")
    values = [stack.secret(name) for name in SECRET_NAMES]
    found = secrets.leaks({name: stack.logs(name) for name in stack.names()}, values)
    evidence.number("components with leaks", len(found))
    for leak in found:
        evidence.note("leak (redacted)", leak)
    assert not found, f"tokens or secrets in logs: {[leak.split(':')[0] for leak in found]}"


#: A check per secret of the deployment (compose's secrets; the public certificates aside).
SECRET_CHECKS = {
    "SEC-017": "db_password",
    "SEC-018": "postgres_superuser_password",
    "SEC-019": "redis_password",
    "SEC-020": "s3_access_key",
    "SEC-021": "s3_secret_key",
    "SEC-022": "jwt_secret",
    "SEC-023": "turn_secret",
    "SEC-024": "storage_encryption_key",
    "SEC-025": "minio_kms_key",
    "SEC-026": "smtp_username",
    "SEC-027": "smtp_password",
    "SEC-028": "tls_server_key",
    "SEC-029": "alert_webhook_token",
    "SEC-030": "grafana_admin_password",
}


@pytest.fixture(scope="module")
def deployment(compose_dir: Path) -> list[compose_rendered.Rendered]:
    return compose_rendered.render_deployment(compose_dir)


@pytest.mark.parametrize(
    "secret",
    one_check_each(
        SECRET_CHECKS,
        "{item} comes from a Docker secret file, never a plain environment value, "
        "and no component logs it",
        category="security",
        severity="HIGH",
        finding="Secrets management: {item} as a Docker secret (*_FILE), never in output",
        fix="Declare {item} as a file secret, mount it where it is used and point the "
        "*_FILE setting at /run/secrets/{item}; never log settings values.",
        impact="{item} shows in docker inspect, process listings or log files: whoever reads "
        "the host or its logs holds it.",
    ),
)
def test_secret_stays_secret(
    secret: str,
    deployment: list[compose_rendered.Rendered],
    stack: Platform,
    api: ApiClient,
    evidence: EvidenceLog,
) -> None:
    defects = secrets.source_defects(secret, deployment)
    evidence.note(f"{secret} in what Docker will run", "; ".join(defects) or "file secret only")
    if secret in SECRET_NAMES:
        api.me(api.new_session().access_token)  # a little traffic for the access logs
        logs = {name: stack.logs(name) for name in stack.names()}
        found = secrets.holders(logs, stack.secret(secret))
        evidence.note(f"logs holding {secret}", ", ".join(found) or "none")
        defects += [f"{component}'s log holds {secret}" for component in found]
    else:
        evidence.note("logs", f"the stack under test holds no {secret}: no log of it carries it")
    assert not defects, "; ".join(defects)
