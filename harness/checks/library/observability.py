"""Probes, metrics, headers and logs every service must have."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from harness.checks.evidence import EvidenceLog

#: The seed's seven headers, with the values it requires.
SECURITY_HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "x-xss-protection": "1; mode=block",
    "strict-transport-security": "max-age=31536000; includeSubDomains",
    "referrer-policy": "strict-origin-when-cross-origin",
    "content-security-policy": "default-src 'self'",
    "permissions-policy": "geolocation=(), microphone=(), camera=()",
}
REQUIRED_METRICS = (
    "http_requests_total",
    "http_request_duration_seconds",
    "request_timeout_total",
    "redis_degraded_mode",
)


#: What each service's /metrics must show a sample of, labelled with its own service name,
#: by the seed's metrics table: HTTP for all, then its data stores, sockets, calls, S3.
DOMAIN_METRICS = {
    "HTTP": ("http_requests_total",),
    "DB": ("db_query_duration_seconds_count",),
    "Redis": ("redis_degraded_mode", "redis_health_check_total"),
    "WebSocket": ("chat_websocket_connections",),
    "calls": ("calls_active", "calls_ringing"),
    "S3": ("s3_request_duration_seconds_count", "minio_circuit_breaker_open"),
    "backups": ("backup_last_success_timestamp_seconds",),
}
SERVICE_DOMAINS = {
    "gateway": ("HTTP", "Redis"),
    "auth": ("HTTP", "DB", "Redis"),
    "chat": ("HTTP", "DB", "Redis", "WebSocket"),
    "video": ("HTTP", "DB", "Redis", "calls", "S3"),
    "storage": ("HTTP", "DB", "Redis", "S3"),
    "backup": ("HTTP", "S3", "backups"),
}
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{[^}]*\bservice="([^"]*)"')


def probe_defects(name: str, url: str, evidence: EvidenceLog) -> list[str]:
    """Return the defects found: a failing /health, a /ready that names nothing."""
    defects = []
    health = httpx.get(f"{url}/health", timeout=5)
    ready = httpx.get(f"{url}/ready", timeout=5)
    evidence.http(f"{name} /ready", ready)
    if health.status_code != 200:
        defects.append(f"{name} /health answered {health.status_code}")
    try:
        dependencies = ready.json().get("dependencies", {})
    except ValueError:
        dependencies = {}
    if ready.status_code != 200 or not dependencies:
        defects.append(f"{name} /ready answered {ready.status_code} naming {list(dependencies)}")
    return defects


def metrics_defects(name: str, url: str, service: str, evidence: EvidenceLog) -> list[str]:
    """/metrics declares the shared metrics and has a sample, labelled `service`, of every
    domain metric of SERVICE_DOMAINS[service]."""
    metrics = httpx.get(f"{url}/metrics", timeout=5)
    if metrics.status_code != 200:
        return [f"{name} /metrics answered {metrics.status_code}"]
    lines = metrics.text.splitlines()
    # A labelled metric has no sample until first used; its TYPE line shows it is wired,
    # and prometheus_client declares counters without their _total suffix.
    declared = {
        line.split()[2] for line in lines if line.startswith("# TYPE ") and len(line.split()) > 2
    }
    missing = [
        m
        for m in REQUIRED_METRICS
        if m.removesuffix("_total") not in declared and m not in declared
    ]
    sampled = {m.groups() for m in map(SAMPLE.match, lines) if m is not None}
    domains = SERVICE_DOMAINS[service]
    absent = [
        f"{domain} ({metric})"
        for domain in domains
        for metric in DOMAIN_METRICS[domain]
        if (metric, service) not in sampled
    ]
    evidence.note(f"{name} /metrics", f"domains {', '.join(domains)}; absent {absent or 'none'}")
    defects = [f"{name} /metrics lacks {missing}"] if missing else []
    if absent:
        defects.append(f'{name} /metrics has no sample with service="{service}" of {absent}')
    return defects


def header_defect(name: str, response: httpx.Response, header: str) -> str | None:
    """The security header `header` is missing or not the value the seed requires."""
    got, value = response.headers.get(header), SECURITY_HEADERS[header]
    return None if got == value else f"{name}: {header} is {got!r}, expected {value!r}"


def log_defects(name: str, text: str, sample: int = 200) -> list[str]:
    """Every log line of a service is one JSON object; request logs carry a request id."""
    lines = [line for line in text.splitlines() if line.strip()][-sample:]
    if not lines:
        return [f"{name} wrote no log lines"]
    defects = []
    with_request_id = 0
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            defects.append(f"{name}: not JSON: {line[:120]}")
            continue
        if not isinstance(record, dict):
            defects.append(f"{name}: not a JSON object: {line[:120]}")
        elif record.get("request_id"):
            with_request_id += 1
    if with_request_id == 0:
        defects.append(f"{name}: no log line carries a request_id")
    return defects[:5]


def log_records(text: str) -> list[dict[str, Any]]:
    """The JSON objects of a component's log, one per line (other lines skipped)."""
    records = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def logged_request(text: str, request_id: str) -> dict[str, Any] | None:
    """The first record of a JSON log that carries `request_id`."""
    return next((r for r in log_records(text) if r.get("request_id") == request_id), None)


def untraced(request_id: str, logs: dict[str, str]) -> list[str]:
    """The components whose JSON log has no line carrying `request_id`."""
    return [c for c, text in logs.items() if logged_request(text, request_id) is None]
