"""Prometheus metrics shared by every service, exposed at /metrics.

Names and labels are part of the contract with alert rules and the
readiness harness; change them only together.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response

LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
FAST_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests handled", ["service", "method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "HTTP request duration",
    ["service", "method", "route"],
    buckets=LATENCY_BUCKETS_S,
)
REQUEST_TIMEOUTS = Counter(
    "request_timeout_total",
    "Requests answered 504 because a time budget ran out",
    ["service", "route"],
)
REDIS_DEGRADED = Gauge(
    "redis_degraded_mode", "1 while Redis is unreachable and in-memory fallbacks serve", ["service"]
)
REDIS_HEALTH_CHECKS = Counter(
    "redis_health_check_total", "Redis health checks run", ["service", "result"]
)
REDIS_COMMAND_DURATION = Histogram(
    "redis_command_duration_seconds",
    "Redis command duration",
    ["service", "command"],
    buckets=FAST_BUCKETS_S,
)
REDIS_FALLBACKS = Counter(
    "redis_fallback_total", "Operations served from the in-memory fallback", ["service", "command"]
)
DB_QUERY_DURATION = Histogram(
    "db_query_duration_seconds",
    "Database query duration",
    ["service", "operation"],
    buckets=FAST_BUCKETS_S,
)
DB_ERRORS = Counter(
    "db_errors_total",
    "Database calls that failed and were answered 503, by kind (connection_lost, timeout, other)",
    ["service", "kind"],
)
REVOCATION_GRACE = Gauge(
    "revocation_recovery_grace_seconds",
    "Seconds left in which a token Redis calls unrevoked is also looked up in the durable"
    " copy (after start-up or a Redis recovery); 0 once Redis alone decides",
    ["service"],
)
RATE_LIMITED = Counter("rate_limited_total", "Requests refused with 429", ["service", "scope"])
POLICY_PERIODS = Gauge(
    "policy_period_seconds",
    "The periods this service's policies run on (health checks, refreshes, breaker resets):"
    " what alert windows and the readiness harness's deadlines are derived from",
    ["service", "period"],
)


def publish_periods(service: str, periods: Mapping[str, float]) -> None:
    """Expose named policy periods (seconds), e.g. {"presence_refresh": 20.0}."""
    for name, seconds in periods.items():
        POLICY_PERIODS.labels(service, name).set(seconds)


async def metrics_endpoint(_: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
