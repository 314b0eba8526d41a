"""The container platform: the shipped compose deployment, run through testcontainers.

The containers are those of compose/docker-compose*.yml as `compose config` renders
them (harness.platform.docker.deployment says what the harness adds and changes),
on one private network per run: PostgreSQL, Redis and S3 reached by the services
through Toxiproxy (the chaos overlay), Prometheus, Alertmanager, coturn, the
capture server standing in for the SMTP relay, and the services. Docker's restart policy
(`unless-stopped`) brings back a container that dies; its published ports are
fixed at start-up, so endpoints stay valid across restarts. Everything carries
the run's label and `down()` sweeps by it, also after a failed start.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from docker.errors import APIError
from testcontainers.core.container import DockerContainer

from harness.errors import ComponentError, StartupError
from harness.platform.base import ComponentInfo, StackInfo, start_waves
from harness.platform.docker import deployment
from harness.platform.docker.engine import HealthyAndReady, RunResources, client, sweep
from harness.platform.docker.images import ImageSet, current_images
from harness.platform.docker.resources import ContainerSample, SampleTracker
from harness.platform.docker.specs import ContainerSpec
from harness.platform.docker.toxiproxy import HostViewToxiproxy
from harness.platform.runtime import RunContext
from harness.toxiproxy.client import ToxiproxyClient

MIGRATIONS_DEADLINE_S = 120.0
STOP_GRACE_S = 10
PAUSE_SETTLE_S = 5.0
PAUSE_ATTEMPTS = 5
WATCH_POLL_S = 0.5
LOG_TAIL_LINES = 40

ProgressCallback = Callable[[str, str], None]


def new_run_id() -> str:
    return time.strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(3)


class DockerPlatform:
    """Starts, breaks and stops the stack as containers on a private network."""

    backend = "compose"

    def __init__(
        self,
        run_dir: Path | None = None,
        services: Collection[str] | None = None,
        images: ImageSet | None = None,
        progress: ProgressCallback | None = None,
        extra_specs: Callable[[RunContext, ImageSet], Iterable[ContainerSpec]] | None = None,
    ) -> None:
        """`services`: backends to start (None: all that exist); `images`: None for this
        tree's (built first where the host uses offline images); `extra_specs` adds
        containers (tests use it for a component that misbehaves on purpose)."""
        self._requested_run_dir = run_dir
        self._only = services
        self._given_images = images
        self.images = images or ImageSet.load()
        self._progress = progress or (lambda _component, _state: None)
        self._extra_specs = extra_specs
        self.run_id = new_run_id()
        self.run: RunContext | None = None
        self.specs: dict[str, ContainerSpec] = {}
        self.containers: dict[str, DockerContainer] = {}
        self._resources: RunResources | None = None
        self._toxiproxy: HostViewToxiproxy | None = None
        self._samples = SampleTracker()
        self._stop_watching = threading.Event()
        self._watcher: threading.Thread | None = None
        self._proxy_lock = threading.Lock()

    # -- the stack -------------------------------------------------------------

    def up(self) -> StackInfo:
        """Start every container, dependencies first; sweep everything on failure."""
        try:
            self._prepare()
            assert self._resources is not None
            network = self._resources.network()
            for wave in self._waves():
                self._start_wave(wave, network)
                if "toxiproxy" in {spec.name for spec in wave}:
                    self._install_proxies()
        except BaseException:
            self.down()
            raise
        self._stop_watching.clear()
        self._watcher = threading.Thread(target=self._watch, name="docker-watch", daemon=True)
        self._watcher.start()
        return self.info()

    def _prepare(self) -> None:
        if self._given_images is None:
            self._progress("images", "starting")
            self.images = current_images()
            self._progress("images", "healthy")
        self._resources = RunResources(self.run_id, client())
        run_dir = self._requested_run_dir or Path(tempfile.mkdtemp(prefix="readiness-"))
        shipped = deployment.load(run_dir, self.images, self._only)
        self.run, self._secret_files = shipped.run, shipped.secret_files
        specs = shipped.specs
        if self._extra_specs is not None:
            specs += list(self._extra_specs(self.run, self.images))
        self.specs = {spec.name: spec for spec in specs}

    def down(self) -> None:
        """Save every container's log, then remove all the run created."""
        self._stop_watching.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        with contextlib.suppress(Exception):
            self.write_logs()
        if self._toxiproxy is not None:
            self._toxiproxy.close()
            self._toxiproxy = None
        if self._resources is not None:
            sweep(self._resources.engine, self.run_id)
            self._resources.engine.close()
        self.containers.clear()
        if self.run is not None:
            self.run.remove(include_run_dir=self._requested_run_dir is None)

    def __enter__(self) -> DockerPlatform:
        self.up()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.down()

    def _waves(self) -> list[list[ContainerSpec]]:
        return start_waves(list(self.specs.values()), only_known=True)

    def _start_wave(self, wave: list[ContainerSpec], network: object) -> None:
        with ThreadPoolExecutor(max_workers=len(wave)) as pool:
            futures = [pool.submit(self._bring_up, spec, network) for spec in wave]
        errors = [f.exception() for f in futures if f.exception() is not None]
        if errors:
            raise errors[0]  # type: ignore[misc]

    def _bring_up(self, spec: ContainerSpec, network: object) -> None:
        assert self._resources is not None
        self._progress(spec.name, "starting")
        container = self._resources.container(spec, network, self._secret_files)  # type: ignore[arg-type]
        self.containers[spec.name] = container
        try:
            container.start()
            if spec.oneshot:
                self._finish_oneshot(spec, container)
        except Exception as exc:
            self._progress(spec.name, "failed")
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
            raise StartupError(spec.name, reason, self._tail(spec.name)) from exc
        self._progress(spec.name, "healthy")

    def _finish_oneshot(self, spec: ContainerSpec, container: DockerContainer) -> None:
        """Wait for a set-up step to exit, keep its log, remove it; non-zero fails."""
        assert self.run is not None
        wrapped = container.get_wrapped_container()
        code = wrapped.wait(timeout=MIGRATIONS_DEADLINE_S)["StatusCode"]
        self.run.log_path(spec.name).write_bytes(wrapped.logs())
        if code != 0:
            raise RuntimeError(f"exited with code {code}")
        wrapped.remove(v=True)
        del self.containers[spec.name]

    def _install_proxies(self) -> None:
        """Create (or re-create, after Toxiproxy restarted empty) every proxy."""
        with self._proxy_lock:
            self.toxiproxy.populate(
                {
                    "name": spec.name,
                    "listen": f"0.0.0.0:{spec.proxy_port}",
                    "upstream": spec.network_address,
                }
                for spec in self.specs.values()
                if spec.proxy_port is not None
            )

    def _watch(self) -> None:
        """Toxiproxy comes back empty after a crash: put the proxies back."""
        started = self._started_at("toxiproxy")
        while not self._stop_watching.wait(WATCH_POLL_S):
            now = self._started_at("toxiproxy")
            if now and now != started:
                with contextlib.suppress(Exception):
                    self._wait_ready("toxiproxy")
                    self._install_proxies()
                    started = now

    def _started_at(self, name: str) -> str:
        with contextlib.suppress(Exception):
            container = self._container(name)
            if container.attrs["State"]["Running"]:
                return str(container.attrs["State"]["StartedAt"])
        return ""

    # -- one component -----------------------------------------------------------

    def _container(self, component: str):  # type: ignore[no-untyped-def]
        try:
            container = self.containers[component].get_wrapped_container()
        except KeyError:
            known = ", ".join(self.names()) or "none"
            raise ComponentError(f"unknown component {component!r} (running: {known})") from None
        container.reload()
        return container

    def _wait_ready(self, component: str) -> None:
        spec = self.specs[component]
        strategy = HealthyAndReady(spec.probe, spec.startup_deadline_s)
        try:
            strategy.wait_until_ready(self.containers[component])
        except (TimeoutError, RuntimeError) as exc:
            raise ComponentError(f"{component} did not come back: {exc}") from exc

    def start(self, component: str) -> None:
        """Start a stopped or killed component again and wait until it is healthy."""
        container = self._container(component)
        state = container.attrs["State"]
        if state["Paused"]:
            container.unpause()
        elif not state["Running"]:
            container.start()
        self._wait_ready(component)
        if component == "toxiproxy":
            self._install_proxies()

    def stop(self, component: str) -> None:
        """`docker stop`: Docker leaves a container stopped on purpose down until `start`."""
        self._container(component).stop(timeout=STOP_GRACE_S)

    def kill(self, component: str) -> None:
        """SIGKILL the container's main process, as a crash would: unlike `docker kill`,
        which counts as stopping it on purpose, this lets the restart policy act."""
        pid = int(self._container(component).attrs["State"]["Pid"])
        if pid <= 0:
            raise ComponentError(f"{component} is not running")
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError as exc:
            raise ComponentError(f"{component} vanished before SIGKILL") from exc

    def pause(self, component: str) -> None:
        """`docker pause` (cgroup freezer): it holds its sockets but answers nothing."""
        container = self._container(component)
        for attempt in range(PAUSE_ATTEMPTS):
            try:
                container.pause()
                break
            except APIError as exc:
                # The cgroup freezer gives up while a task sleeps uninterruptibly: retry.
                if "unable to freeze" not in str(exc) or attempt == PAUSE_ATTEMPTS - 1:
                    raise ComponentError(f"cannot pause {component}: {exc}") from exc
                time.sleep(0.2)
        deadline = time.monotonic() + PAUSE_SETTLE_S
        while time.monotonic() < deadline:
            container.reload()
            if container.attrs["State"]["Paused"]:
                return
            time.sleep(0.05)
        raise ComponentError(f"{component} not paused within {PAUSE_SETTLE_S}s")

    def resume(self, component: str) -> None:
        container = self._container(component)
        if not container.attrs["State"]["Paused"]:
            raise ComponentError(f"{component} is not paused")
        container.unpause()

    def restart(self, component: str) -> None:
        self.stop(component)
        self.start(component)

    def probe(self, component: str) -> None:
        """The container runs (not paused) and its host-side probe passes. Docker's own
        verdict is not asked: at the files' intervals it lags a recovery by up to 10 s."""
        state = self._container(component).attrs["State"]
        if not state["Running"] or state["Paused"] or state.get("Restarting"):
            raise ComponentError(f"{component} is {state['Status']}")
        spec = self.specs[component]
        if spec.probe is not None:
            spec.probe()

    def restarts(self, component: str) -> int:
        """How often Docker restarted the container after it died (RestartCount)."""
        return int(self._container(component).attrs["RestartCount"])

    def stats(self, component: str) -> ContainerSample:
        """Working-set memory, CPU, processes, the memory limit and OOM kills."""
        container = self._container(component)
        return self._samples.sample(component, container)

    def logs(self, component: str) -> str:
        if component in self.containers:
            return bytes(self._container(component).logs()).decode(errors="replace")
        assert self.run is not None
        path = self.run.log_path(component)
        if path.is_file():
            return path.read_text(errors="replace")
        raise ComponentError(f"unknown component {component!r}")

    def write_logs(self) -> None:
        """Every container's log into <run dir>/logs/ (the engine drops it with the
        container)."""
        assert self.run is not None
        for name in list(self.containers):
            with contextlib.suppress(Exception):
                self.run.log_path(name).write_text(self.logs(name))

    def save_logs(self, target: Path) -> None:
        if self.run is None:
            return
        self.write_logs()
        if (self.run.run_dir / "logs").is_dir():
            shutil.copytree(self.run.run_dir / "logs", target, dirs_exist_ok=True)

    def _tail(self, component: str) -> str:
        with contextlib.suppress(Exception):
            return "\n".join(self.logs(component).splitlines()[-LOG_TAIL_LINES:])
        return ""

    def names(self) -> list[str]:
        return [name for name, spec in self.specs.items() if not spec.oneshot]

    def ca_certificate(self) -> Path:
        assert self.run is not None
        return self.run.certs.ca_cert

    def secret(self, name: str) -> str:
        assert self.run is not None
        return self.run.secret(name)

    # -- where things are ----------------------------------------------------------

    @property
    def toxiproxy(self) -> ToxiproxyClient:
        if self._toxiproxy is None:
            proxy = self.specs["toxiproxy"]
            upstreams = {s.network_address: s.address for s in self.specs.values() if s.ports}
            listens = {p.container: f"127.0.0.1:{p.host}" for p in proxy.ports[1:]}
            self._toxiproxy = HostViewToxiproxy(proxy.url or "", upstreams, listens)
        return self._toxiproxy

    def endpoint(self, component: str) -> ComponentInfo:
        spec = self.specs[component]
        pid = None
        with contextlib.suppress(Exception):
            pid = int(self._container(component).attrs["State"]["Pid"]) or None
        listen = None
        if spec.proxy_port is not None:
            listen = f"127.0.0.1:{self.specs['toxiproxy'].port(spec.proxy_port).host}"
        return ComponentInfo(
            name=spec.name,
            address=spec.address,
            url=spec.url,
            pid=pid,
            proxy_name=spec.name if spec.proxy_port is not None else None,
            proxy_listen=listen,
            extra=dict(spec.extra),
        )

    def info(self) -> StackInfo:
        assert self.run is not None
        gateway = self.specs.get("gateway")
        return StackInfo(
            backend=self.backend,
            run_dir=str(self.run.run_dir),
            toxiproxy_api=self.specs["toxiproxy"].url or None,
            components={name: self.endpoint(name) for name in self.names()},
            gateway_url=gateway.url if gateway is not None else None,
        )
