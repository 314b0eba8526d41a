"""Storage's own view of its S3 calls: the proof that an S3 fault reached storage.

The S3 proxy carries other traffic too: backups, video recordings, and the
clients' own PUTs to presigned upload URLs. None of it proves that storage met
the fault, so a check about storage requires storage's own attempts to have
failed, been abandoned (its request budget ended them: an S3 that never answers),
or its breaker to have refused calls, while the fault held.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harness.faults.injector import FaultWindow
from harness.metrics import watch as metric_watch

ATTEMPTS_FAILED = "storage S3 attempts failed"
ATTEMPTS_ABANDONED = "storage S3 attempts abandoned by its request budget"
CALLS_REFUSED = "storage S3 calls refused by its breaker"


def storage_s3_counters(storage: str) -> dict[str, Callable[[], float]]:
    """Storage's S3 attempts failed and calls its breaker refused, counted from now on,
    by the observation each proves."""
    name = "s3_request_duration_seconds_count"
    return {
        ATTEMPTS_FAILED: metric_watch(storage, name, service="storage", outcome="transient"),
        # An attempt whose caller was cancelled (the request's budget ran out) ends "error".
        ATTEMPTS_ABANDONED: metric_watch(storage, name, service="storage", outcome="error"),
        CALLS_REFUSED: metric_watch(storage, "s3_rejected_total", service="storage"),
    }


@dataclass
class StorageView:
    """Storage's S3 attempts that failed and calls its breaker refused, since `watch`."""

    window: FaultWindow
    counters: dict[str, Callable[[], float]]

    @classmethod
    def watch(cls, storage: str, window: FaultWindow) -> StorageView:
        """Start counting; from now on only storage's view proves `window`."""
        counters = storage_s3_counters(storage)
        window.require(*counters)
        return cls(window, counters)

    def failed(self) -> float:
        return self.counters[ATTEMPTS_FAILED]()

    def record(self) -> None:
        for what, count in self.counters.items():
            self.window.observe(what, count())
