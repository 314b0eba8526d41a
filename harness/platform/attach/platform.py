"""The attach platform: a deployment the harness did not start, described by a stack file.

`up` only checks the gateway answers and `down` only lets go: the stack is
never started or stopped. Everything else is what the file grants
(grants.py): network faults through its Toxiproxy, a component's process by
pid or container, its log, the secrets, the CA. An operation the file does not
grant raises NotGranted, so the check that needed it is *not run*, with the
field it would need, never passed and never failed. The file is read again
when it changes: a supervisor that rewrites it (readiness up --detach does,
when it restarts a component) keeps pids and restart counts current.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

from harness.errors import ComponentError, ConfigError, HarnessError, StartupError
from harness.platform import probes as base_probes
from harness.platform.attach import probes
from harness.platform.attach.control import PidControl, ProcessControl
from harness.platform.attach.grants import Control, Grants
from harness.platform.process import ResourceSample
from harness.platform.stackfile import ComponentInfo, StackInfo
from harness.toxiproxy.client import ToxiproxyClient

#: How long the deployment may take to bring a killed component back, seconds.
RESTART_DEADLINE_S = 60.0
POLL_S = 0.2


def load_stack_file(path: Path) -> StackInfo:
    """The stack file at `path`: every component one the harness knows how to probe, every
    proxy one it can reach. A ConfigError names the field that is wrong."""
    info = StackInfo.read(path)
    for name, component in info.components.items():
        problem = _unusable(component, info)
        if problem is not None:
            raise ConfigError(f"stack file {path}: components.{name}{problem}")
    return info


def _unusable(component: ComponentInfo, info: StackInfo) -> str | None:
    if probes.kind_of(component.name) not in probes.KINDS:
        known = ", ".join(probes.KINDS)
        return f": unknown component (known: {known}; chat may be numbered: chat-1, chat-2...)"
    if not component.address:
        return ".address: where it listens is needed (host:port, or a url with a port)"
    if component.proxy_name is not None and info.toxiproxy_api is None:
        return ".proxy_name: names a Toxiproxy proxy, but toxiproxy_api is missing"
    return None


def _toxiproxy_client(api: str, upstreams: dict[str, str]) -> ToxiproxyClient:
    if not upstreams:
        return ToxiproxyClient(api)
    # Imported here: the docker package, only for a stack whose Toxiproxy sees other names.
    from harness.platform.docker.toxiproxy import HostViewToxiproxy

    return HostViewToxiproxy(api, upstreams, listens={})


class AttachPlatform:
    """Judges a running stack through what its stack file grants."""

    backend = "attach"

    def __init__(self, stack_file: Path) -> None:
        self.stack_file = stack_file
        self.grants = Grants(load_stack_file(stack_file))
        self._read_at = self._mtime()
        self._toxiproxy: ToxiproxyClient | None = None
        self._engine: Any = None
        self._controls: dict[str, ProcessControl] = {}

    # -- the stack file --------------------------------------------------------

    @property
    def info(self) -> StackInfo:
        """The stack file as it is now (read again when it changed)."""
        mtime = self._mtime()
        if mtime is not None and mtime != self._read_at:
            self.grants = Grants(load_stack_file(self.stack_file))
            self._read_at = mtime
        return self.grants.info

    def written_at(self) -> float:
        """When the stack file in use was written, seconds since the epoch."""
        _ = self.info
        return (self._read_at or 0) / 1e9

    def _mtime(self) -> int | None:
        try:
            return self.stack_file.stat().st_mtime_ns
        except FileNotFoundError:
            return None  # the deployment went away: keep what was last known

    def _granted(self) -> Grants:
        _ = self.info
        return self.grants

    # -- the stack: never started, never stopped -----------------------------------

    def up(self) -> StackInfo:
        """Check the deployment answers (its gateway, when it has one); start nothing."""
        info = self.info
        if info.gateway_url is not None:
            try:
                base_probes.http_ok(f"{info.gateway_url}/health")
            except Exception as exc:  # whatever the reason, there is nothing to judge
                reason = f"{info.gateway_url} does not answer: {type(exc).__name__}: {exc}"
                raise StartupError("gateway", reason) from exc
        return info

    def down(self) -> None:
        """Let go of the deployment (it keeps running)."""
        if self._toxiproxy is not None:
            self._toxiproxy.close()
            self._toxiproxy = None
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    def __enter__(self) -> AttachPlatform:
        self.up()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.down()

    # -- where things are ------------------------------------------------------------

    def names(self) -> list[str]:
        return list(self.info.components)

    def endpoint(self, component: str) -> ComponentInfo:
        return self._granted().component(component)

    @property
    def toxiproxy(self) -> ToxiproxyClient:
        """The stack's Toxiproxy; proxies' upstreams as the harness reaches them (a compose
        network's postgres:5432 is the file's `address` of postgres)."""
        if self._toxiproxy is None:
            api = self._granted().require_toxiproxy()
            upstreams = {
                c.proxy_upstream: c.address
                for c in self.info.components.values()
                if c.proxy_upstream is not None
            }
            self._toxiproxy = _toxiproxy_client(api, upstreams)
        return self._toxiproxy

    def secret(self, name: str) -> str:
        return self._granted().require_secret(name).read_text().strip()

    def ca_certificate(self) -> Path:
        return self._granted().require_ca()

    def logs(self, component: str) -> str:
        path = self._granted().require_log(component)
        if path is None:  # its container's log
            return self._control(component, "reading the log of").logs()
        try:
            return path.read_text(errors="replace")
        except OSError as exc:
            raise ComponentError(f"the log of {component} ({path}): {exc}") from exc

    def save_logs(self, target: Path) -> None:
        """The log of every component whose log the stack file grants."""
        target.mkdir(parents=True, exist_ok=True)
        for name in self.names():
            with contextlib.suppress(HarnessError):
                (target / f"{name}.log").write_text(self.logs(name))

    # -- one component -----------------------------------------------------------------

    def _control(self, component: str, action: str) -> ProcessControl:
        how = self._granted().require_control(component, action)
        if component not in self._controls:
            self._controls[component] = self._new_control(component, how)
        return self._controls[component]

    def _new_control(self, component: str, how: Control) -> ProcessControl:
        if how is Control.PID:
            return PidControl(component, self)
        # Imported here: the docker SDK only for a stack file that names containers.
        from harness.platform.attach.containers import ContainerControl, engine_is_local

        container = self.endpoint(component).container
        assert container is not None
        return ContainerControl(
            component, container, self._docker, engine_is_local(self.info.docker_host)
        )

    def _docker(self) -> Any:
        if self._engine is None:
            from harness.platform.attach.containers import docker_engine

            self._engine = docker_engine(self.info.docker_host)
        return self._engine

    def probe(self, component: str) -> None:
        """Its process runs (where the file grants it) and its health probe passes."""
        if self._granted().control(component) is not None:
            problem = self._control(component, "probing").problem()
            if problem is not None:
                raise ComponentError(f"{component} is {problem}")
        probes.probe(self.grants, self.endpoint(component))

    def kill(self, component: str) -> None:
        self._control(component, "killing").kill()

    def pause(self, component: str) -> None:
        self._control(component, "pausing").pause()

    def resume(self, component: str) -> None:
        self._control(component, "resuming").resume()

    def stop(self, component: str) -> None:
        self._control(component, "stopping").stop()

    def start(self, component: str) -> None:
        """Bring it back (a container), or wait until the deployment did (a pid), and
        until it is healthy."""
        control = self._control(component, "starting")
        if control.problem() == "paused":
            control.resume()
        control.start()
        self._wait_healthy(component)

    def restart(self, component: str) -> None:
        """Stop and start a container; kill a process and wait for the deployment to
        restart it."""
        self._control(component, "restarting").take_down_for_restart()
        self.start(component)

    def _wait_healthy(self, component: str) -> None:
        deadline = time.monotonic() + RESTART_DEADLINE_S
        last = "not probed"
        while time.monotonic() < deadline:
            try:
                self.probe(component)
                return
            except Exception as exc:  # any probe failure means "not yet"
                last = f"{type(exc).__name__}: {exc}"[:200]
            time.sleep(POLL_S)
        raise ComponentError(f"{component} not healthy {RESTART_DEADLINE_S:.0f}s on: {last}")

    def stats(self, component: str) -> ResourceSample:
        return self._control(component, "measuring").stats()

    def restarts(self, component: str) -> int:
        return self._control(component, "counting the restarts of").restarts()
