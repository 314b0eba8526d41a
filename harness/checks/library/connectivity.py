"""Bounded answers: a request must end, with an expected status, within a budget."""

from __future__ import annotations

import time
from collections.abc import Collection

import httpx

from harness.checks.evidence import EvidenceLog

#: How long past the budget the harness waits before calling it a hang.
HANG_FACTOR = 3.0


def answers_within(
    label: str,
    method: str,
    url: str,
    budget_s: float,
    statuses: Collection[int],
    evidence: EvidenceLog,
    slack: float = 1.10,
    **kwargs: object,
) -> httpx.Response | None:
    """Assert the request ends with one of `statuses` within budget × slack."""
    started = time.monotonic()
    try:
        response: httpx.Response | None = httpx.request(
            method,
            url,
            timeout=budget_s * HANG_FACTOR,
            **kwargs,  # type: ignore[arg-type]
        )
    except httpx.TimeoutException:
        response = None
    elapsed = time.monotonic() - started
    evidence.number(f"{label}: answered after", elapsed, "s")
    if response is None:
        raise AssertionError(f"{label}: no answer within {budget_s * HANG_FACTOR:.0f}s (a hang)")
    evidence.http(label, response)
    assert response.status_code in statuses, (
        f"{label}: answered {response.status_code}, expected one of {sorted(statuses)}"
    )
    assert elapsed <= budget_s * slack, f"{label}: took {elapsed:.1f}s, budget {budget_s:.1f}s"
    return response
