"""Recovery after an outage: was state written back, or did something else put it there?

A service that renews its state on its own period (presence every 20 s) also
publishes, late, what a missing write-back lost. A check that only waits for
the state to appear passes a broken recovery whenever a renewal lands in its
deadline; the state's own timestamp tells the two apart.

Likewise a token revoked during a Redis outage: for a grace after Redis returns,
a service also looks tokens up in PostgreSQL, which holds the revocation whether
or not the recovery wrote it back to Redis. Only once the grace is over
(`grace_over`) does Redis alone decide, and tell a lost write-back.
"""

from __future__ import annotations

import time
from datetime import datetime

from harness.checks.evidence import EvidenceLog
from harness.checks.steady import GRACE_METRIC, recovery_state
from harness.errors import Inconclusive
from harness.metrics import sample as metric_sample

#: Beyond the grace a service publishes, how long it may take to end, seconds.
GRACE_MARGIN_S = 5.0
GRACE_POLL_S = 0.1


def written_back(presence: dict, recovered_at: float, evidence: EvidenceLog) -> None:
    """Raise Inconclusive when the presence's last_seen is later than the recovery:
    a renewal after the outage wrote it, so the write-back is unproven (never a pass)."""
    last_seen = datetime.fromisoformat(presence["last_seen"]).timestamp()
    evidence.number("last_seen - recovery", last_seen - recovered_at, "s")
    if last_seen > recovered_at:
        raise Inconclusive(
            "a presence renewal after the recovery published the presence; "
            "the write-back is unproven"
        )


def grace_over(url: str) -> float | None:
    """Wait until the service's recovery grace is over; the seconds that took, None when
    it did not end within the grace it published (plus GRACE_MARGIN_S)."""
    started = time.monotonic()
    deadline_s = metric_sample(url, GRACE_METRIC) + GRACE_MARGIN_S
    while time.monotonic() - started < deadline_s:
        if recovery_state(url) == "ok":
            return time.monotonic() - started
        time.sleep(GRACE_POLL_S)
    return None
