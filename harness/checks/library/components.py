"""One component at a time: what Docker will run for it, and what it does on this stack.

The seed audit has a row per component for container health, resources and
connectivity. These judge one component each: on the shipped compose files as the
compose tool renders them (compose_rendered: what Docker runs, variables
interpolated), and, when the stack runs the component, on the component itself.
The configuration audit (config_audit, CFG-001..003 and CFG-013) judges the same
rules over every service at once; both use the per-service rules of those modules.

A service's dependencies are what its compose `depends_on` declares (a one-shot
step in it, such as migrations, stands for what that step depends on); its /ready
must name each one and report it reachable.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from harness.checks.evidence import EvidenceLog
from harness.checks.library import compose_rendered, config_audit, container
from harness.faults.injector import FaultInjector
from harness.platform.base import Platform, services_of
from harness.waiting import eventually

APP_FILE = "docker-compose.yml"
MONITORING_FILE = "docker-compose.monitoring.yml"
CHAOS_OVERLAY = "docker-compose.chaos.yml"
#: Written by compose/offline/build; the deployment passes it as --env-file (compose/README.md).
OFFLINE_IMAGES = "offline/images.env"
#: The stacks of files the deployment runs: the application, the monitoring, the
#: application with the chaos overlay (staging and drills).
SHIPPED_STACKS = ((APP_FILE,), (MONITORING_FILE,), (APP_FILE, CHAOS_OVERLAY))
#: The data stores services reach through Toxiproxy on the harness's stacks.
STORES = ("postgres", "redis", "s3")
#: What a service's /ready calls a component the compose files name otherwise.
READY_NAMES = {"coturn": "turn"}
READY_TIMEOUT_S = 5.0
#: How long a service's /ready may take to report a cut store (its own checks are
#: bounded by 1.5 s; Redis's health loop runs every 0.5 s), seconds.
EDGE_SEEN_S = 10.0
CONNECT_TIMEOUT_S = 2.0
#: How long a proxy whose upstream is gone takes to close an accepted connection.
CLOSE_WAIT_S = 0.5


def shipped_stacks(compose_dir: Path) -> list[list[Path]]:
    """The stacks of compose files the deployment runs, as paths under `compose_dir`."""
    return [[compose_dir / name for name in stack] for stack in SHIPPED_STACKS]


def deployment_env_files(compose_dir: Path) -> list[Path | None]:
    """The environments the deployment renders the files with: the registry images (no
    --env-file), and the offline images' file when compose/offline/build wrote one."""
    env_files: list[Path | None] = [None]
    if (compose_dir / OFFLINE_IMAGES).is_file():
        env_files.append(compose_dir / OFFLINE_IMAGES)
    return env_files


@dataclass(frozen=True)
class Shipped:
    """Every shipped stack of compose files rendered with every environment."""

    renders: tuple[tuple[tuple[str, ...], compose_rendered.Rendered], ...]

    def configs(self, component: str, stack: tuple[str, ...] | None = None) -> dict[str, Any]:
        """Label of a rendering → the component's rendered service, in every rendering
        that runs it (only those of `stack` when given)."""
        return {
            rendered.name: rendered.services[component]
            for files, rendered in self.renders
            if (stack is None or files == stack) and component in rendered.services
        }

    def errors(self) -> list[str]:
        return [f"{r.name}: compose refuses it: {r.error}" for _, r in self.renders if r.error]

    def missing(self, component: str) -> list[str]:
        """A defect when no shipped file runs `component` (with why a rendering failed)."""
        if self.configs(component):
            return []
        return [f"{component}: in none of the shipped compose files", *self.errors()]


def render_shipped(compose_dir: Path) -> Shipped:
    """Render each shipped stack with each environment of the deployment."""
    renders = []
    for env_file in deployment_env_files(compose_dir):
        for files in shipped_stacks(compose_dir):
            rendered = compose_rendered.render(files, env_file)
            if env_file is not None:
                rendered = compose_rendered.Rendered(
                    f"{rendered.name} with {env_file.name}",
                    rendered.services,
                    rendered.unset,
                    rendered.error,
                )
            renders.append((tuple(path.name for path in files), rendered))
    return Shipped(tuple(renders))


def instances(stack: Platform, component: str) -> list[str]:
    """The stack's instances of `component` (chat → chat-1, chat-2); none when it does
    not run it."""
    return [name for name in stack.names() if name.split("-")[0] == component]


# -- container: health check, start period, restart; the live probes --------------------


def container_defects(shipped: Shipped, component: str, evidence: EvidenceLog) -> list[str]:
    """In every rendering that runs `component`: a health check with a start period and
    a restart policy that restarts it by itself."""
    defects = shipped.missing(component)
    for label, service in shipped.configs(component).items():
        check = service.get("healthcheck") or {}
        evidence.note(
            f"{label} {component}",
            f"healthcheck {config_audit.healthcheck_test(service) or 'none'}; "
            f"start_period {check.get('start_period', 'none')}; "
            f"restart {service.get('restart', 'no')}",
        )
        found = [
            config_audit.healthcheck_defect(component, service),
            config_audit.restart_defect(component, service),
        ]
        defects += [f"{label}: {defect}" for defect in found if defect]
    return defects


def health_defects(stack: Platform, component: str, evidence: EvidenceLog) -> list[str]:
    """Each instance the stack runs passes its probes now (a service: also its /health)."""
    names = instances(stack, component)
    if not names:
        evidence.note(f"{component} on this stack", f"not run by the {stack.backend} stack")
    services = set(services_of(stack))
    defects = []
    for name in names:
        problem = container.probe_problem(stack, name, name in services)
        evidence.note(f"{name} health probe", problem or "passed")
        if problem:
            defects.append(f"{name}: {problem}")
    return defects


# -- resources: limits; resident memory within the limit -----------------------------------


def limit_defects(shipped: Shipped, component: str, evidence: EvidenceLog) -> list[str]:
    """In every rendering that runs `component`: positive memory and CPU limits."""
    defects = shipped.missing(component)
    for label, service in shipped.configs(component).items():
        evidence.note(f"{label} {component} limits", str(compose_rendered.limits_of(service)))
        defects += [f"{label}: {d}" for d in compose_rendered.limit_defects(component, service)]
    return defects


def memory_limit_mib(shipped: Shipped, component: str) -> float | None:
    """The smallest positive memory limit `component` renders to; None without one."""
    limits = [
        compose_rendered.memory_limit_bytes(service)
        for service in shipped.configs(component).values()
    ]
    positive = [limit for limit in limits if limit]
    return min(positive) / container.MIB if positive else None


def memory_defects(
    stack: Platform, component: str, limit_mib: float | None, evidence: EvidenceLog
) -> list[str]:
    """Each instance the stack runs is within `component`'s memory limit right now."""
    names = instances(stack, component)
    if not names:
        evidence.note(f"{component} on this stack", f"not run by the {stack.backend} stack")
    if limit_mib is None:
        return []  # no limit to be within: limit_defects says so
    defects = []
    for name in names:
        evidence.number(f"{name} RSS", stack.stats(name).rss_bytes / container.MIB, "MiB")
        over = container.memory_defect(stack, name, limit_mib)
        if over:
            defects.append(f"{name}: {over}")
    evidence.number(f"{component} memory limit", limit_mib, "MiB")
    return defects


# -- connectivity: /ready names the declared dependencies; store edges via Toxiproxy ------


def declared_dependencies(shipped: Shipped, service: str) -> list[str]:
    """What the application's compose file declares `service` depends on (sorted): its
    depends_on, a one-shot step replaced by what the step depends on."""
    declared: list[str] = []
    for services in _app_renderings(shipped):
        pending = list(_depends_on(services.get(service, {})))
        while pending:
            name = pending.pop(0)
            if config_audit.is_oneshot(services.get(name, {})):
                pending += _depends_on(services[name])
            elif name not in declared:
                declared.append(name)
    return sorted(declared)


def _app_renderings(shipped: Shipped) -> list[dict[str, dict[str, Any]]]:
    return [r.services for files, r in shipped.renders if files == (APP_FILE,)]


def _depends_on(service: dict[str, Any]) -> list[str]:
    depends = service.get("depends_on") or []
    return [str(name) for name in depends]


def ready_dependencies(url: str) -> dict[str, str]:
    """The dependencies a service's /ready names, with the state it reports for each."""
    body = httpx.get(f"{url}/ready", timeout=READY_TIMEOUT_S).json()
    return {name: str(d.get("state")) for name, d in (body.get("dependencies") or {}).items()}


def ready_entries(ready: dict[str, str], dependency: str) -> dict[str, str]:
    """The entries of a /ready answer that stand for `dependency` (chat: chat-1, chat-2)."""
    wanted = READY_NAMES.get(dependency, dependency)
    return {name: state for name, state in ready.items() if name.split("-")[0] == wanted}


def readiness_defects(declared: list[str], ready: dict[str, str]) -> list[str]:
    """A declared dependency /ready does not name, or does not report ok."""
    defects = []
    for dependency in declared:
        entries = ready_entries(ready, dependency)
        if not entries:
            defects.append(f"/ready does not name {dependency}, a dependency it declares")
        for name, state in entries.items():
            if state != "ok":
                defects.append(f"/ready reports {name} {state}, not ok")
    return defects


def connects(address: tuple[str, int]) -> str:
    """Whether a TCP client gets through to `address`: connected, closed by peer (an
    open proxy whose upstream is gone accepts, then closes), or refused."""
    try:
        with socket.create_connection(address, timeout=CONNECT_TIMEOUT_S) as sock:
            sock.settimeout(CLOSE_WAIT_S)
            try:
                closed = sock.recv(1) == b""
            except TimeoutError:
                closed = False
            return "closed by peer" if closed else "connected"
    except OSError as exc:
        return f"refused: {exc.strerror or exc}"


def edge_defect(
    faults: FaultInjector,
    service_url: str,
    store: str,
    proxied: Callable[[str], tuple[str, int]],
    evidence: EvidenceLog,
) -> str | None:
    """Cut `store`'s Toxiproxy proxy: the service's /ready must see it (its edge runs
    through the proxy). The harness's own connection through the proxy, refused during
    the cut, proves the cut took hold."""
    seen: dict[str, str] = {}

    def sees_cut() -> bool:
        seen.update(ready_entries(ready_dependencies(service_url), store))
        return any(state != "ok" for state in seen.values())

    with faults.cut(store) as window:
        window.observe(
            "the harness's connection through the proxy refused",
            connects(proxied(store)) != "connected",
        )
        faults.require_proof()
        try:
            eventually(sees_cut, EDGE_SEEN_S, interval_s=0.2, what=f"/ready seeing {store} cut")
        except TimeoutError:
            pass
    evidence.note(f"/ready during the {store} cut", str(seen) if seen else "nothing")
    if any(state != "ok" for state in seen.values()):
        return None
    return (
        f"{store} stayed {seen or 'unreported'} in /ready while its Toxiproxy proxy was cut: "
        f"the service reaches {store} around the proxy"
    )


def stores_of(declared: list[str], stack: Platform) -> list[str]:
    """The data stores among `declared` that this stack runs."""
    return [store for store in declared if store in STORES and instances(stack, store)]
