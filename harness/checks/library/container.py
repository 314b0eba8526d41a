"""Health and restart stability of the components of a stack."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import httpx

from harness.platform.base import Platform, services_of

RESTART_DEADLINE_S = 30.0
PROBE_POLL_S = 0.25
MIB = 1024 * 1024
#: How long every component's health is watched, seconds: a component that flaps or
#: crash-loops passes one probe taken at the right moment, not a window of them.
OBSERVE_S = 10.0
#: Rounds of probes at least, however long they take.
MIN_ROUNDS = 2
#: How long the components may take to pass their probes once before the window opens,
#: seconds: what an earlier check broke is mended by then (an S3 cut stops backups, and
#: the scheduler's /health says so until its next good backup, seconds later).
SETTLE_S = 30.0
LIVENESS_TIMEOUT_S = 2.0


@dataclass
class HealthWatch:
    """What watching every component's probes for a while found."""

    rounds: int = 0
    #: Component → its slowest probe, milliseconds.
    slowest_ms: dict[str, float] = field(default_factory=dict)
    #: Component → the first problem seen: a failed probe, or a restart while watched.
    problems: dict[str, str] = field(default_factory=dict)


def _liveness(url: str) -> None:
    """A service's /health: what a container health check or a liveness probe calls."""
    answer = httpx.get(f"{url}/health", timeout=LIVENESS_TIMEOUT_S)
    if answer.status_code != 200:
        raise ConnectionError(f"GET /health answered {answer.status_code}: {answer.text[:200]}")


def probe_problem(stack: Platform, name: str, service: bool) -> str | None:
    """What is wrong with `name` now (its probe, and a service's /health); None when well."""
    try:
        stack.probe(name)
        if service:
            _liveness(stack.endpoint(name).url or "")
    except Exception as exc:  # a probe's failure is the finding, whatever its type
        return f"{type(exc).__name__}: {exc}"
    return None


def _settle(stack: Platform, names: list[str], services: set[str]) -> None:
    """Wait (at most SETTLE_S) until each component passed its probes once; the window
    judges the ones that never do."""
    deadline = time.monotonic() + SETTLE_S
    pending = list(names)
    while pending and time.monotonic() < deadline:
        pending = [name for name in pending if probe_problem(stack, name, name in services)]
        if pending:
            time.sleep(PROBE_POLL_S)


def watch_health(stack: Platform, observe_s: float = OBSERVE_S) -> HealthWatch:
    """Once every component passed its probes (or SETTLE_S is up), probe each again and
    again for `observe_s` (services: the platform's readiness probe and their /health),
    and note which ones restarted meanwhile."""
    names, services = stack.names(), set(services_of(stack))
    _settle(stack, names, services)
    restarts = {name: stack.restarts(name) for name in names}
    watch = HealthWatch()
    end = time.monotonic() + observe_s
    while watch.rounds < MIN_ROUNDS or time.monotonic() < end:
        for name in names:
            started = time.monotonic()
            problem = probe_problem(stack, name, name in services)
            elapsed_ms = (time.monotonic() - started) * 1000
            watch.slowest_ms[name] = max(watch.slowest_ms.get(name, 0.0), elapsed_ms)
            if problem is not None:
                watch.problems.setdefault(name, problem)
        watch.rounds += 1
        time.sleep(PROBE_POLL_S)
    for name in names:
        restarted = stack.restarts(name) - restarts[name]
        if restarted and name not in watch.problems:
            watch.problems[name] = f"restarted {restarted}x while watched"
    return watch


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
        problem = memory_defect(stack, name, budgets_mib.get(name.split("-")[0], default_mib))
        if problem:
            over[name] = problem
    return over


def memory_defect(stack: Platform, name: str, budget_mib: float) -> str | None:
    """`name`'s resident memory over `budget_mib`, or its container OOM-killed at its
    limit, with the numbers; None when within."""
    sample = stack.stats(name)
    rss = sample.rss_bytes / MIB
    if getattr(sample, "oom_killed", False):
        limit = getattr(sample, "memory_limit_bytes", 0) / MIB
        restarts = getattr(sample, "restarts", 0)
        return (
            f"OOM-killed at its {limit:.0f} MiB limit, restarted {restarts}x "
            f"(now {rss:.0f} MiB, budget {budget_mib:.0f} MiB)"
        )
    if rss > budget_mib:
        return f"{rss:.0f} MiB > {budget_mib:.0f} MiB"
    return None
