"""Logs carry no bearer token and no secret value."""

from __future__ import annotations

from harness import SECRET_NAMES, ApiClient, EventListener, EvidenceLog, Platform, check
from harness.checks import secrets


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
