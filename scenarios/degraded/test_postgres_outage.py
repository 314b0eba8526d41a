"""Hypothesis: a PostgreSQL outage is reported, refused fast, and recovered from alone.

Steady state: writes (chat messages) succeed; every service's /ready is ok.
Faults: PostgreSQL cut (Toxiproxy), slow (1.5 s on every packet), killed (the platform
kills the postgres component and starts it again).
Expectations: within seconds every service that needs the database says so on /ready
(503, postgres down); a write is refused within the service's request budget (503, or
504 when the slow database ran out the budget) instead of hanging; once PostgreSQL is
back the same processes serve writes and report ready, none restarted.
Proof: Toxiproxy's counters (cut, toxic), the database no longer answering (kill), chat's
own db_errors_total and the refused write; without proof the check is unknown.
What was acknowledged is never lost: INV-008..010 judge that, not this check.
"""

from __future__ import annotations

import pytest

from harness import (
    ApiClient,
    EvidenceLog,
    FaultInjector,
    Platform,
    one_check_each,
    require_components,
)
from harness.checks import db_outage


@pytest.mark.parametrize(
    "fault",
    one_check_each(
        {"DEG-008": "cut", "DEG-009": "slow", "DEG-010": "killed"},
        "With PostgreSQL {item}, /ready says so, writes fail fast, services recover alone",
        category="degraded",
        severity="HIGH",
        finding="Database degraded mode: PostgreSQL {item}",
        fix="Bound every database call (pool wait, statement, per-call deadline), answer 503, "
        "report postgres down on /ready, and let the pool reconnect.",
        impact="With PostgreSQL {item}, requests hang instead of failing, load balancers keep "
        "sending traffic to instances that cannot serve, or services stay broken until "
        "someone restarts them.",
    ),
)
def test_postgres_outage(
    fault: str, stack: Platform, faults: FaultInjector, api: ApiClient, evidence: EvidenceLog
) -> None:
    require_components(stack.names(), "chat")
    db_outage.judge(stack, faults, api, fault, evidence)
