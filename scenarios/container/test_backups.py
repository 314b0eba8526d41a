"""The backup scheduler says when backups stop, and says so again when they resume.

Proof that the S3 cut stopped backups: the scheduler itself counts failed
backup runs during the cut (backup_failures_total). Storage's connections
through the same proxy prove nothing about backups; without that proof the
check is unknown, never judged.
"""

from __future__ import annotations

import httpx

from harness import (
    EvidenceLog,
    FaultInjector,
    Platform,
    check,
    eventually,
    metric_watch,
    require_components,
)

#: Twice the local backup interval plus slack for a run in flight, seconds.
STALE_DEADLINE_S = 40.0
BACKUPS_FAILED = "backup runs failed"


def _healthy(url: str) -> bool:
    return httpx.get(f"{url}/health", timeout=5).status_code == 200


@check(
    "HEALTH-003",
    "The backup scheduler's health turns bad when backups stop, good when they resume",
    category="container",
    severity="BLOCKER",
    profile="full",
    finding="BLOCKER-5 / HIGH-10: backup scheduler has no health check",
    fix="Serve /health from the scheduler: unhealthy once the last good backup is too old.",
    impact="Backups can stop silently; the failure surfaces only when data must be restored.",
)
def test_backup_health_follows_backups(
    stack: Platform, faults: FaultInjector, evidence: EvidenceLog
) -> None:
    require_components(stack.names(), "backup")
    url = stack.endpoint("backup").url or ""
    eventually(lambda: _healthy(url), STALE_DEADLINE_S, what="a first good backup")
    with faults.cut("s3") as window:
        window.require(BACKUPS_FAILED)
        failed = metric_watch(url, "backup_failures_total", service="backup")
        window.observe_growth(BACKUPS_FAILED, failed, STALE_DEADLINE_S)
        faults.require_proof()  # before judging: a cut the scheduler never met
        eventually(lambda: not _healthy(url), STALE_DEADLINE_S, what="health turning bad")
        stale = httpx.get(f"{url}/health", timeout=5)
        evidence.http("/health with backups failing", stale)
    eventually(lambda: _healthy(url), STALE_DEADLINE_S, what="health recovering")
