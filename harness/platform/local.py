"""The local platform: the whole stack as child processes on 127.0.0.1.

Ports are chosen at start-up, data lives in a run directory, every service
reaches PostgreSQL, Redis and S3 through a Toxiproxy proxy, and teardown leaves
no process behind, also after Ctrl-C or a failed start.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from harness.errors import ComponentError, StartupError
from harness.platform.base import ComponentInfo, StackInfo, start_waves
from harness.platform.components.base import LocalComponent
from harness.platform.components.datastores import S3, Postgres, Redis
from harness.platform.components.edge import Capture, Coturn, Toxiproxy
from harness.platform.components.monitoring import Alertmanager, Prometheus
from harness.platform.components.services import (
    Dependencies,
    Migrations,
    Service,
    service_components,
)
from harness.platform.process import ManagedProcess, ResourceSample
from harness.platform.runtime import RunContext
from harness.platform.source import SourceTree
from harness.platform.watchdog import Watchdog
from harness.toxiproxy.client import ToxiproxyClient

HEALTH_POLL_S = 0.1
PROXIED_DEPENDENCIES = ("postgres", "redis", "s3")

C = TypeVar("C", bound=LocalComponent)

#: Called with (component, state) as the stack comes up: starting, healthy, failed.
ProgressCallback = Callable[[str, str], None]


def default_components(
    only: Collection[str] | None = None,
    source: SourceTree | None = None,
    stand_ins: Collection[LocalComponent] = (),
) -> list[LocalComponent]:
    """The data stores, Toxiproxy, monitoring, TURN, mail capture and the services
    (all that exist, or the backends named in `only`; an empty `only` means none).
    `source`: run another tree's code and alert rules (and its service settings).
    `stand_ins`: run these instead of the stock data store, capture or TURN server
    they subclass (the self-test's defective components)."""
    deps = Dependencies(
        _stock_or_stand_in(Postgres, stand_ins),
        _stock_or_stand_in(Redis, stand_ins),
        _stock_or_stand_in(S3, stand_ins),
        _stock_or_stand_in(Capture, stand_ins),
        _stock_or_stand_in(Coturn, stand_ins),
    )
    services = service_components(deps, only)
    targets = {c.name: [c.address] for c in services if isinstance(c, Service)}
    alertmanager = Alertmanager(deps.capture.url(), deps.capture.smtp_address)
    prometheus = Prometheus(alertmanager.address, targets)
    if source is not None:
        _run_from(source, services, prometheus)
        alertmanager.config_file = source.alertmanager_config
    stores = [deps.postgres, deps.redis, deps.s3, Toxiproxy(), deps.capture, deps.coturn]
    return [*stores, alertmanager, prometheus, *services]


def _stock_or_stand_in(stock: type[C], stand_ins: Collection[LocalComponent]) -> C:
    return next((c for c in stand_ins if isinstance(c, stock)), None) or stock()


def _run_from(source: SourceTree, services: list[LocalComponent], prometheus: Prometheus) -> None:
    prometheus.rules_dir = source.alert_rules_dir
    for component in services:
        if isinstance(component, Service):
            component.extra_env = {**component.extra_env, **source.environment(component.name)}
        elif isinstance(component, Migrations):  # the tree's schema, none of a service's settings
            component.extra_env = {**component.extra_env, "PYTHONPATH": source.python_path()}


class LocalPlatform:
    """Starts, breaks and stops the stack as local processes."""

    backend = "local"

    def __init__(
        self,
        run_dir: Path | None = None,
        components: Iterable[LocalComponent] | None = None,
        progress: ProgressCallback | None = None,
        restart: bool = True,
        on_restart: Callable[[str], None] | None = None,
    ) -> None:
        """`restart`: bring back components that die, like `restart: unless-stopped`."""
        self._owns_run_dir = run_dir is None
        self._requested_run_dir = run_dir
        self.components = {c.name: c for c in (components or default_components())}
        self.processes: dict[str, ManagedProcess] = {}
        self.run: RunContext | None = None
        self._progress = progress or (lambda _component, _state: None)
        self._toxiproxy: ToxiproxyClient | None = None
        self._on_restart = on_restart or (lambda _component: None)
        self.watchdog = Watchdog(self.processes, on_restart=self._restarted) if restart else None

    # -- the stack -------------------------------------------------------

    def up(self) -> StackInfo:
        """Start every component, dependencies first; tear everything down on failure."""
        self.run = RunContext.create(self._requested_run_dir)
        try:
            for wave in self._waves():
                self._start_wave(wave)
                if "toxiproxy" in {c.name for c in wave}:
                    self._install_proxies()
        except BaseException:
            self.down()
            raise
        if self.watchdog is not None:
            self.watchdog.start()
        return self.info()

    def down(self) -> None:
        """Stop every component, dependents before what they depend on, and remove the run
        directory if ours. The members of a wave stop together, so a teardown takes one
        grace period per wave at worst, not one per component."""
        if self.watchdog is not None:
            self.watchdog.stop()
        for wave in reversed(self._waves()):
            running = [self.processes[c.name] for c in wave if c.name in self.processes]
            if running:
                with ThreadPoolExecutor(max_workers=len(running)) as pool:
                    list(pool.map(ManagedProcess.stop, running))
        self.processes.clear()
        if self._toxiproxy is not None:
            self._toxiproxy.close()
            self._toxiproxy = None
        if self.run is not None:
            self.run.remove(include_run_dir=self._owns_run_dir)

    def save_logs(self, target: Path) -> None:
        """The components write their logs into the run directory: copied as they are."""
        if self.run is not None and (self.run.run_dir / "logs").is_dir():
            shutil.copytree(self.run.run_dir / "logs", target, dirs_exist_ok=True)

    def __enter__(self) -> LocalPlatform:
        self.up()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.down()

    def _waves(self) -> list[list[LocalComponent]]:
        return start_waves(list(self.components.values()))

    def _start_wave(self, wave: list[LocalComponent]) -> None:
        with ThreadPoolExecutor(max_workers=len(wave)) as pool:
            futures = [pool.submit(self._bring_up, component) for component in wave]
        errors = [f.exception() for f in futures if f.exception() is not None]
        if errors:
            raise errors[0]  # type: ignore[misc]

    def _bring_up(self, component: LocalComponent) -> None:
        assert self.run is not None
        self._progress(component.name, "starting")
        try:
            component.prepare(self.run)
            if not component.oneshot:
                self._spawn(component)
                self._wait_healthy(component)
            component.after_ready(self.run)
        except BaseException:
            self._progress(component.name, "failed")
            raise
        self._progress(component.name, "healthy")

    def _spawn(self, component: LocalComponent) -> None:
        assert self.run is not None
        process = ManagedProcess(
            component.name,
            component.argv(self.run),
            self.run.log_path(component.name),
            env=component.env(self.run),
            user=component.user,
        )
        self.processes[component.name] = process
        try:
            process.start()
        except ComponentError as exc:
            raise StartupError(component.name, str(exc)) from exc

    def _wait_healthy(self, component: LocalComponent) -> None:
        assert self.run is not None
        process = self.processes[component.name]
        deadline = time.monotonic() + component.startup_deadline_s
        last_error = "no probe attempted"
        while time.monotonic() < deadline:
            if not process.running:
                reason = f"exited with code {process.returncode}"
                raise StartupError(component.name, reason, process.log_tail())
            try:
                component.probe(self.run)
                return
            except Exception as exc:  # any probe failure means "not yet"
                last_error = f"{type(exc).__name__}: {exc}"
            time.sleep(HEALTH_POLL_S)
        reason = f"not healthy after {component.startup_deadline_s:.0f}s ({last_error})"
        raise StartupError(component.name, reason, process.log_tail())

    def _install_proxies(self) -> None:
        """Create (or re-create, after Toxiproxy restarted empty) every proxy."""
        self.toxiproxy.populate(
            {"name": c.proxy.name, "listen": c.proxy.listen, "upstream": c.address}
            for c in self.components.values()
            if c.proxy is not None
        )

    def _restarted(self, component: str) -> None:
        """After the watchdog brought a component back: Toxiproxy comes back empty."""
        if component == "toxiproxy":
            self._wait_healthy(self.components[component])
            self._install_proxies()
        self._on_restart(component)

    # -- one component -----------------------------------------------------

    def _process(self, component: str) -> ManagedProcess:
        try:
            return self.processes[component]
        except KeyError:
            known = ", ".join(sorted(self.processes)) or "none"
            raise ComponentError(f"unknown component {component!r} (running: {known})") from None

    def start(self, component: str) -> None:
        """Start a stopped or killed component again and wait until it is healthy."""
        process = self._process(component)
        with self._restart_lock():
            if self.watchdog is not None:
                self.watchdog.release(component)
            process.start()
        self._wait_healthy(self.components[component])
        if component == "toxiproxy":
            self._install_proxies()

    def stop(self, component: str) -> None:
        """Stop on purpose: the watchdog leaves it down until `start`."""
        process = self._process(component)
        with self._restart_lock():
            if self.watchdog is not None:
                self.watchdog.hold(component)
            process.stop()

    def _restart_lock(self) -> contextlib.AbstractContextManager[object]:
        return self.watchdog.lock if self.watchdog is not None else contextlib.nullcontext()

    def restarts(self, component: str) -> int:
        """How often the watchdog restarted `component` after it died."""
        return self.watchdog.restarts[component] if self.watchdog is not None else 0

    def kill(self, component: str) -> None:
        self._process(component).kill()

    def pause(self, component: str) -> None:
        self._process(component).pause()

    def resume(self, component: str) -> None:
        self._process(component).resume()

    def restart(self, component: str) -> None:
        self.stop(component)
        self.start(component)

    def probe(self, component: str) -> None:
        """Run the component's health probe once; raises with the reason when unhealthy."""
        assert self.run is not None
        if not self._process(component).running:
            raise ComponentError(f"{component} is not running")
        self.components[component].probe(self.run)

    def names(self) -> list[str]:
        return [name for name, c in self.components.items() if not c.oneshot]

    def ca_certificate(self) -> Path:
        """The CA that signed the data stores' TLS certificates in this run."""
        assert self.run is not None
        return self.run.certs.ca_cert

    def secret(self, name: str) -> str:
        """A generated secret of this run (db_password, redis_password...)."""
        assert self.run is not None
        return self.run.secret(name)

    def stats(self, component: str) -> ResourceSample:
        return self._process(component).sample()

    def logs(self, component: str) -> str:
        return self._process(component).log_path.read_text(errors="replace")

    # -- where things are ------------------------------------------------------

    @property
    def toxiproxy(self) -> ToxiproxyClient:
        """A client for this stack's Toxiproxy (one per platform, closed by `down`)."""
        if self._toxiproxy is None:
            self._toxiproxy = ToxiproxyClient(self.components["toxiproxy"].url() or "")
        return self._toxiproxy

    def endpoint(self, component: str) -> ComponentInfo:
        """Where `component` is, and what a stack file grants over it: its pid and log."""
        c = self.components[component]
        process = self.processes.get(component)
        extra = {"smtp": c.smtp_address} if isinstance(c, Capture) else {}
        return ComponentInfo(
            name=c.name,
            address=c.address,
            url=c.url(),
            pid=process.pid if process is not None else None,
            proxy_name=c.proxy.name if c.proxy else None,
            proxy_listen=c.proxy.listen if c.proxy else None,
            log_file=str(process.log_path) if process is not None else None,
            restarts=self.restarts(component),
            extra=extra,
        )

    def info(self) -> StackInfo:
        """The stack file of this stack: it grants everything (toxiproxy, pids, logs,
        secrets, the CA), so `--backend attach` can judge it as the local backend does."""
        assert self.run is not None
        gateway = self.components.get("gateway")
        toxiproxy = self.components.get("toxiproxy")
        return StackInfo(
            backend=self.backend,
            run_dir=str(self.run.run_dir),
            toxiproxy_api=toxiproxy.url() if toxiproxy else None,
            components={
                name: self.endpoint(name) for name, c in self.components.items() if not c.oneshot
            },
            gateway_url=gateway.url() if gateway is not None else None,
            secrets_dir=str(self.run.run_dir / "secrets"),
            ca_certificate=str(self.run.certs.ca_cert),
        )
