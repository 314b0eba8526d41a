"""Every component stays within its memory budget and idles without burning CPU."""

from __future__ import annotations

import time

from harness import EvidenceLog, Platform, check
from harness.checks import container

#: Resident memory budgets, matching the memory limits of compose/docker-compose.yml.
MEMORY_BUDGET_MIB = {"postgres": 1024, "prometheus": 512, "video": 512}
DEFAULT_BUDGET_MIB = 256
IDLE_CPU_PERCENT = 50.0
SAMPLE_WINDOW_S = 2.0


@check(
    "RES-001",
    "Every component's resident memory is within its budget",
    category="resources",
    severity="HIGH",
    finding="HIGH-7 / MEDIUM-11: databases without memory limits",
    fix="Set mem_limit on every container, databases included, and size caches under it.",
    impact="A component outgrows its memory budget and is OOM-killed under the production limits.",
)
def test_memory_within_budget(stack: Platform, evidence: EvidenceLog) -> None:
    for name in stack.names():
        evidence.number(f"{name} RSS", stack.stats(name).rss_bytes / container.MIB, "MiB")
    over = container.memory_defects(stack, MEMORY_BUDGET_MIB, DEFAULT_BUDGET_MIB)
    assert not over, f"over budget: {over}"


@check(
    "RES-002",
    "An idle stack does not burn CPU",
    category="resources",
    severity="MEDIUM",
    finding="Resource usage: CPU at rest",
    fix="Look for busy loops and too-frequent health checks.",
    impact="An idle stack burns CPU: hosts cost more and real load has less headroom.",
)
def test_idle_cpu(stack: Platform, evidence: EvidenceLog) -> None:
    for name in stack.names():
        stack.stats(name)
    time.sleep(SAMPLE_WINDOW_S)  # CPU percent needs a window between two samples
    busy = {}
    for name in stack.names():
        sample = stack.stats(name)
        # What it wanted, not only what it got: on a machine busy with other work a
        # spinning process gets its share of the cores, yet is runnable all the time.
        evidence.number(f"{name} CPU", sample.cpu_percent, "%")
        evidence.number(f"{name} CPU wanted", sample.cpu_wanted_percent, "%")
        if sample.cpu_wanted_percent > IDLE_CPU_PERCENT:
            busy[name] = f"wanted {sample.cpu_wanted_percent:.0f}%, got {sample.cpu_percent:.0f}%"
    assert not busy, f"busy while idle: {busy}"
