"""The steady state every check starts from, verified and repaired before each one.

A check must never fail because an earlier one left damage behind: a toxic
nobody removed, a process still paused or dead, a service still degraded or
with its breaker open. Before every check that uses the stack the plugin
calls `restore_steady_state`:

1. Toxiproxy: every proxy the stack needs exists, is enabled and carries no
   toxic; otherwise `/reset` (and Toxiproxy is restarted if proxies are gone).
2. Every component runs and passes its own health probe; one that does not
   is resumed (it may be paused), then restarted. On an attached stack only
   what its stack file grants is used: a component it grants no control of
   cannot be repaired, and the reason names the missing grant.
3. Every SecureConnect service reports `/ready` with status `ok`: no
   dependency degraded or down, no fallback serving, no breaker open; and
   its `/health` answers 200 (the backup scheduler's is 503 while its
   backups are stale, as after an outage of S3 or PostgreSQL, until the next
   good one). And none is still in a recovery regime: for a while after it
   starts or Redis comes back, a service double-checks every token in
   PostgreSQL (`revocation_recovery_grace_seconds` above 0), so a check that
   faults PostgreSQL then would stall every request at its token check, not
   at the writes it means to fault.

A check that judges a component on its own (a data store's authentication, the
TURN server's) marks itself `@pytest.mark.steady_state(services=False)`: only
Toxiproxy and the components other than the services are verified. The defect
such a check guards against (Redis or S3 refusing the services' credentials, a
database refusing their TLS) leaves the services degraded, and must not make
the check unknown. A check that judges one dependency of the services through
them marks itself `@pytest.mark.steady_state(judges=("turn",))`: the services
must be ready but for that dependency, which is the check's to judge (TURN
credentials coturn refuses leave video degraded with `turn: down`). A check
that judges the services' own liveness marks itself `judges=("/health",)`: they
must be ready, and what their `/health` answers is the check's to judge (a
backup scheduler that ages its last backup wrongly answers 503 right after a
good one, the defect HEALTH-001 must fail on, not be unknown about).

What had to be repaired is returned, for the check's evidence. A stack that
cannot be repaired within the deadlines raises `UnhealthyStack`: the check is
*unknown*, never a failure of the product.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Collection

import httpx

from harness.errors import HarnessError, UnhealthyStack
from harness.metrics import sample as metric_sample
from harness.platform.base import Platform, services_of

#: In a check's `judges`: the services' `/health` answers are the check's to judge.
HEALTH_ROUTE = "/health"
#: What a service publishes while it double-checks tokens in PostgreSQL (tokens.py).
GRACE_METRIC = "revocation_recovery_grace_seconds"
#: How long services may take to report `ok` after a repair (Redis health checks run every
#: 0.5 s, breakers half-open after seconds, pools reconnect at once).
SETTLE_DEADLINE_S = 30.0
SETTLE_POLL_S = 0.2
READY_TIMEOUT_S = 2.0


def restore_steady_state(
    platform: Platform, services: bool = True, judged: Collection[str] = ()
) -> list[str]:
    """Verify the steady state, repair what is broken; the repairs made, in order.
    `services=False`: leave the SecureConnect services out of it; `judged`: the
    services' dependencies the check judges itself, not required ready, and
    HEALTH_ROUTE when it judges their /health."""
    repairs = _clean_toxiproxy(platform)
    left_out = set() if services else set(services_of(platform))
    for component in platform.names():
        problem = None if component in left_out else _probe(platform, component)
        if problem is not None:
            repairs.append(_repair(platform, component, problem))
    if services:
        repairs += _settle_services(platform, judged)
    return repairs


def _clean_toxiproxy(platform: Platform) -> list[str]:
    wanted = {
        info.proxy_name
        for info in (platform.endpoint(n) for n in platform.names())
        if info.proxy_name is not None
    }
    if not wanted:
        return []  # no edge goes through Toxiproxy (an attached stack may grant none)
    try:
        proxies = platform.toxiproxy.proxies()
    except HarnessError as exc:
        return [_repair(platform, "toxiproxy", str(exc))]
    missing = sorted(wanted - set(proxies))
    if missing:
        return [_repair(platform, "toxiproxy", f"proxies missing: {', '.join(missing)}")]
    dirty = [
        f"{name} {'disabled' if not p.enabled else ''}{' '.join(t.name for t in p.toxics)}".strip()
        for name, p in sorted(proxies.items())
        if not p.enabled or p.toxics
    ]
    if not dirty:
        return []
    platform.toxiproxy.reset()
    return [f"toxiproxy reset (left behind: {'; '.join(dirty)})"]


def _probe(platform: Platform, component: str) -> str | None:
    try:
        platform.probe(component)
    except Exception as exc:  # any probe failure is a reason to repair
        return f"{type(exc).__name__}: {exc}"[:300]
    return None


def _repair(platform: Platform, component: str, problem: str) -> str:
    """Resume (it may be paused), else restart; UnhealthyStack when neither helps."""
    with contextlib.suppress(HarnessError):
        platform.resume(component)
    if _probe(platform, component) is None:
        return f"{component} resumed ({problem})"
    try:
        platform.restart(component)
    except HarnessError as exc:
        raise UnhealthyStack(f"{component} could not be repaired ({problem}): {exc}") from exc
    after = _probe(platform, component)
    if after is not None:
        raise UnhealthyStack(f"{component} still unhealthy after a restart: {after}")
    return f"{component} restarted ({problem})"


def ready_state(url: str, judged: Collection[str] = ()) -> str:
    """`ok`, or what is not: "degraded (turn: down)", "HTTP 503", "ConnectError".
    Dependencies in `judged` do not count: a service unwell for them alone is `ok`."""
    try:
        answer = httpx.get(f"{url}/ready", timeout=READY_TIMEOUT_S)
        body = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        return type(exc).__name__
    status = str(body.get("status", f"HTTP {answer.status_code}"))
    dependencies = body.get("dependencies") or {}
    states = {n: str(s.get("state")) for n, s in dependencies.items() if isinstance(s, dict)}
    sick = [f"{n}: {state}" for n, state in states.items() if state != "ok" and n not in judged]
    if status != "ok" and not sick and any(states.get(n, "ok") != "ok" for n in judged):
        return "ok"
    return f"{status} ({', '.join(sick)})" if status != "ok" and sick else status


def service_state(url: str, judged: Collection[str] = ()) -> str:
    """`ok` when /ready says so (but for `judged`) and /health answers 200 (unless the
    check judges HEALTH_ROUTE itself); else what is not."""
    ready = ready_state(url, judged)
    if ready != "ok":
        return ready
    grace = recovery_state(url)
    if grace != "ok" or HEALTH_ROUTE in judged:
        return grace
    try:
        status = httpx.get(f"{url}/health", timeout=READY_TIMEOUT_S).status_code
    except httpx.HTTPError as exc:
        return f"/health: {type(exc).__name__}"
    return "ok" if status == 200 else f"/health: HTTP {status}"


def recovery_state(url: str) -> str:
    """`ok` once the service's recovery regime is over (or it publishes none)."""
    try:
        left = metric_sample(url, GRACE_METRIC)
    except httpx.HTTPError as exc:
        return f"/metrics: {type(exc).__name__}"
    return "ok" if left <= 0 else f"recovering ({left:.1f} s of token double-checks left)"


def _settle_services(platform: Platform, judged: Collection[str]) -> list[str]:
    """Wait until every service says `ok`; name the ones that needed waiting for."""
    urls = {name: platform.endpoint(name).url for name in services_of(platform)}
    pending = {name: service_state(url, judged) for name, url in urls.items() if url}
    pending = {name: state for name, state in pending.items() if state != "ok"}
    first_seen = dict(pending)
    deadline = time.monotonic() + SETTLE_DEADLINE_S
    while pending and time.monotonic() < deadline:
        time.sleep(SETTLE_POLL_S)
        states = {name: service_state(urls[name] or "", judged) for name in pending}
        pending = {name: state for name, state in states.items() if state != "ok"}
    if pending:
        states = ", ".join(f"{n}: {s}" for n, s in sorted(pending.items()))
        raise UnhealthyStack(f"services not ready after {SETTLE_DEADLINE_S:.0f}s: {states}")
    return [f"waited for {name} to be ready (was {state})" for name, state in first_seen.items()]
