"""The faults `readiness chaos <scenario>` knows, and the steady state it watches.

Network faults act on a Toxiproxy proxy (postgres, redis, s3); process faults
on a component; `postgres-terminated` kills the app's busy database backends
(pg_terminate_backend), failing writes mid-transaction. Each fault yields its
FaultWindow, the proof that it touched traffic. Names read as
`<target>-<fault>`: `redis-down`, `s3-slow`, `postgres-flaky`, `auth-paused`,
`chat-1-killed`, `postgres-terminated`...
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import httpx

from harness.clients.api import ApiClient
from harness.errors import ConfigError
from harness.faults.injector import FaultInjector
from harness.platform.base import SERVICE_NAMES, Platform, services_of
from harness.run.chaos import Probe

PROXIES = ("postgres", "redis", "s3")
SLOW_MS, JITTER_MS = 1000, 200
FLAKY_TOXICITY = 0.5
THROTTLE_KBPS = 8

FaultFactory = Callable[[], contextlib.AbstractContextManager[Any]]

NETWORK_FAULTS: dict[
    str, Callable[[FaultInjector, str], contextlib.AbstractContextManager[Any]]
] = {
    "down": lambda f, p: f.cut(p),
    "slow": lambda f, p: f.latency(p, SLOW_MS, JITTER_MS),
    "flaky": lambda f, p: f.flaky(p, FLAKY_TOXICITY),
    "throttled": lambda f, p: f.throttle(p, THROTTLE_KBPS),
    "half-open": lambda f, p: f.half_open(p),
}
PROCESS_FAULTS = ("paused", "killed")
#: Faults on the database server itself, by scenario name.
DATABASE_FAULTS: dict[str, Callable[[FaultInjector], contextlib.AbstractContextManager[Any]]] = {
    "postgres-terminated": lambda f: f.terminate_backends(),
}


def check_scenario_form(name: str) -> str:
    """Refuse, before any stack starts, a name no stack can know (`validate_scenario`
    then checks it against the stack that runs)."""
    network = {f"{p}-{f}" for p in PROXIES for f in NETWORK_FAULTS}
    target, _, kind = name.rpartition("-")
    process = target.split("-")[0] in SERVICE_NAMES and kind in PROCESS_FAULTS
    if name not in network and name not in DATABASE_FAULTS and not process:
        raise ConfigError(
            f"unknown scenario {name!r}; known: {', '.join(sorted(network))}, "
            f"{', '.join(DATABASE_FAULTS)}, <service>-{'|'.join(PROCESS_FAULTS)}"
        )
    return name


def scenario_names(stack: Platform) -> list[str]:
    network = [f"{p}-{f}" for p in PROXIES for f in NETWORK_FAULTS]
    process = [f"{c}-{f}" for c in services_of(stack) for f in PROCESS_FAULTS]
    return network + list(DATABASE_FAULTS) + process


def validate_scenario(name: str, stack: Platform) -> None:
    """Raise a ConfigError listing the known scenarios unless `name` is one."""
    known = scenario_names(stack)
    if name not in known:
        raise ConfigError(f"unknown scenario {name!r}; known: {', '.join(known)}")


def fault_for(name: str, faults: FaultInjector) -> FaultFactory:
    """The fault called `name` (see `validate_scenario`)."""
    validate_scenario(name, faults.stack)
    if name in DATABASE_FAULTS:
        return lambda: DATABASE_FAULTS[name](faults)
    target, _, kind = name.rpartition("-")
    if name.endswith("half-open"):
        target, kind = name.removesuffix("-half-open"), "half-open"
    if kind in NETWORK_FAULTS:
        return lambda: NETWORK_FAULTS[kind](faults, target)
    if kind == "paused":
        return lambda: faults.paused_process(target)
    return lambda: faults.killed(target)


def default_steady_state(stack: Platform) -> list[Probe]:
    """What users need: the gateway ready, and a new user able to log in and call /me."""
    if "gateway" not in stack.names():
        return [Probe(f"{name} healthy", _probe_ok(stack, name)) for name in stack.names()]
    gateway = stack.endpoint("gateway").url or ""

    def ready() -> bool:
        return httpx.get(f"{gateway}/ready", timeout=5).status_code == 200

    def login_round_trip() -> bool:
        with ApiClient(gateway) as api:
            session = api.new_session()
            return api.me(session.access_token).status_code == 200

    return [Probe("gateway ready", ready), Probe("register, login, /me", login_round_trip)]


def _probe_ok(stack: Platform, name: str) -> Callable[[], bool]:
    def holds() -> bool:
        stack.probe(name)
        return True

    return holds
