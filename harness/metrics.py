"""Read a service's /metrics the way Prometheus would."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families

from harness.errors import CheckError

SCRAPE_TIMEOUT_S = 5.0


def sample(url: str, name: str, **labels: str) -> float:
    """Sum of the samples called `name` whose labels include `labels` (0 when absent)."""
    text = httpx.get(f"{url}/metrics", timeout=SCRAPE_TIMEOUT_S).text
    total = 0.0
    for family in text_string_to_metric_families(text):
        for metric in family.samples:
            if metric.name == name and all(metric.labels.get(k) == v for k, v in labels.items()):
                total += metric.value
    return total


def period(url: str, name: str) -> float:
    """A policy period the service publishes (policy_period_seconds{period=name}), seconds.

    Checks derive their deadlines from these instead of repeating the product's numbers:
    a recovery check must end well before the periodic refresh that would hide it."""
    seconds = sample(url, "policy_period_seconds", period=name)
    if seconds <= 0:
        raise CheckError(f"{url} publishes no policy period {name!r}; cannot derive a deadline")
    return seconds


def watch(url: str, name: str, **labels: str) -> Callable[[], float]:
    """How much `name` (summed as `sample` does) grew since this call, for proof that a
    fault reached a service: `failed = watch(storage, "s3_rejected_total"); ...; failed()`."""
    start = sample(url, name, **labels)
    return lambda: sample(url, name, **labels) - start
