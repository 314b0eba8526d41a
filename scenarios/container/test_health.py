"""Every component is healthy, and comes back healthy after it crashes."""

from __future__ import annotations

import time

from harness import EvidenceLog, Platform, check

RESTART_DEADLINE_S = 30.0
#: Crashing these loses no committed state and they must come back on their own data.
CRASH_TESTED = ("redis", "postgres", "s3")


@check(
    "HEALTH-001",
    "Every component passes its health probe",
    category="container",
    severity="BLOCKER",
    finding="Container health: services without working health checks",
    fix="Give every component a health probe that exercises its real dependencies.",
)
def test_every_component_is_healthy(stack: Platform, evidence: EvidenceLog) -> None:
    unhealthy = {}
    for name in stack.names():
        started = time.monotonic()
        try:
            stack.probe(name)
        except Exception as exc:  # a probe's failure is the finding, whatever its type
            unhealthy[name] = f"{type(exc).__name__}: {exc}"
        evidence.number(f"{name} probe", (time.monotonic() - started) * 1000, "ms")
    for name in unhealthy:
        evidence.log(f"{name} log", stack.logs(name))
    assert not unhealthy, f"unhealthy: {unhealthy}"


@check(
    "HEALTH-002",
    "Data stores come back healthy within 30 s after a crash",
    category="container",
    severity="HIGH",
    finding="Container restart stability (restart policies, start periods)",
    fix="Restart crashed components (restart: unless-stopped) with a start_period.",
)
def test_data_stores_recover_from_a_crash(stack: Platform, evidence: EvidenceLog) -> None:
    slow = {}
    for name in CRASH_TESTED:
        stack.kill(name)
        started = time.monotonic()
        stack.start(name)
        stack.probe(name)
        elapsed = time.monotonic() - started
        evidence.number(f"{name} back healthy after SIGKILL", elapsed, "s")
        if elapsed > RESTART_DEADLINE_S:
            slow[name] = elapsed
    assert not slow, f"slower than {RESTART_DEADLINE_S:.0f}s to recover: {slow}"
