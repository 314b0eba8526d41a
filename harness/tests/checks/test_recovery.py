"""DEG-007's judgement: presence written back passes; presence a renewal published is unknown."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from harness.checks.evidence import EvidenceLog
from harness.checks.library.recovery import written_back
from harness.errors import Inconclusive

RECOVERED_AT = 1_800_000_000.0


def presence(last_seen: float) -> dict:
    return {"status": "online", "last_seen": datetime.fromtimestamp(last_seen, UTC).isoformat()}


def test_a_last_seen_from_the_outage_is_the_write_back() -> None:
    evidence = EvidenceLog()
    written_back(presence(RECOVERED_AT - 3), RECOVERED_AT, evidence)
    assert evidence.items[0].value == pytest.approx(-3)


def test_a_last_seen_after_the_recovery_is_a_renewal_and_proves_nothing() -> None:
    with pytest.raises(Inconclusive, match="write-back is unproven"):
        written_back(presence(RECOVERED_AT + 0.5), RECOVERED_AT, EvidenceLog())
