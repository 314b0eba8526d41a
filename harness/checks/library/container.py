"""Health and restart stability of the components of a stack."""

from __future__ import annotations

import time

from harness.platform.base import Platform

RESTART_DEADLINE_S = 30.0
PROBE_POLL_S = 0.25
MIB = 1024 * 1024


def recovery_time(
    stack: Platform, name: str, deadline_s: float = RESTART_DEADLINE_S
) -> float | None:
    """SIGKILL `name` and wait, without helping, until it has restarted and its probe
    passes again; None when it does not come back within the deadline."""
    restarts = stack.restarts(name)
    stack.kill(name)
    killed = time.monotonic()
    while time.monotonic() - killed < deadline_s:
        time.sleep(PROBE_POLL_S)
        if stack.restarts(name) == restarts:
            continue
        try:
            stack.probe(name)
            return time.monotonic() - killed
        except Exception:  # not back yet
            continue
    return None


def memory_defects(
    stack: Platform, budgets_mib: dict[str, int], default_mib: int
) -> dict[str, str]:
    """Components whose resident memory exceeds their budget, with the numbers.

    A container the kernel OOM-killed at its memory limit (the Docker platform's
    samples say so) is over budget too, whatever it uses now that it restarted."""
    over = {}
    for name in stack.names():
        sample = stack.stats(name)
        rss = sample.rss_bytes / MIB
        budget = budgets_mib.get(name.split("-")[0], default_mib)
        if getattr(sample, "oom_killed", False):
            limit = getattr(sample, "memory_limit_bytes", 0) / MIB
            restarts = getattr(sample, "restarts", 0)
            over[name] = (
                f"OOM-killed at its {limit:.0f} MiB limit, restarted {restarts}x "
                f"(now {rss:.0f} MiB, budget {budget} MiB)"
            )
        elif rss > budget:
            over[name] = f"{rss:.0f} MiB > {budget} MiB"
    return over
