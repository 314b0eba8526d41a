"""Recovery after an outage: was state written back, or did something else put it there?

A service that renews its state on its own period (presence every 20 s) also
publishes, late, what a missing write-back lost. A check that only waits for
the state to appear passes a broken recovery whenever a renewal lands in its
deadline; the state's own timestamp tells the two apart.
"""

from __future__ import annotations

from datetime import datetime

from harness.checks.evidence import EvidenceLog
from harness.errors import Inconclusive


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
