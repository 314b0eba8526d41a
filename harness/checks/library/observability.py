"""Probes, metrics, headers and logs every service must have."""

from __future__ import annotations

import json

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


def probes_and_metrics(name: str, url: str, evidence: EvidenceLog) -> list[str]:
    """Return the defects found: missing probes, a /ready that names nothing, missing metrics."""
    defects = []
    health = httpx.get(f"{url}/health", timeout=5)
    ready = httpx.get(f"{url}/ready", timeout=5)
    metrics = httpx.get(f"{url}/metrics", timeout=5)
    evidence.http(f"{name} /ready", ready)
    if health.status_code != 200:
        defects.append(f"{name} /health answered {health.status_code}")
    try:
        dependencies = ready.json().get("dependencies", {})
    except ValueError:
        dependencies = {}
    if ready.status_code != 200 or not dependencies:
        defects.append(f"{name} /ready answered {ready.status_code} naming {list(dependencies)}")
    # A labelled metric has no sample until first used; its TYPE line shows it is wired,
    # and prometheus_client declares counters without their _total suffix.
    declared = {
        line.split()[2]
        for line in metrics.text.splitlines()
        if line.startswith("# TYPE ") and len(line.split()) > 2
    }
    missing = [
        m
        for m in REQUIRED_METRICS
        if m.removesuffix("_total") not in declared and m not in declared
    ]
    if metrics.status_code != 200 or missing:
        defects.append(f"{name} /metrics ({metrics.status_code}) lacks {missing}")
    return defects


def header_defects(name: str, response: httpx.Response) -> list[str]:
    defects = []
    for header, value in SECURITY_HEADERS.items():
        got = response.headers.get(header)
        if got != value:
            defects.append(f"{name}: {header} is {got!r}, expected {value!r}")
    return defects


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
