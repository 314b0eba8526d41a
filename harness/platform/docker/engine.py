"""The Docker engine, as the platform uses it: labelled containers, networks and volumes.

Everything a run creates carries the label `com.secureconnect.readiness.run=<run id>`,
so `sweep()` finds and removes it all, also after a failed or interrupted start.
testcontainers' Ryuk reaper is disabled (its image cannot be pulled here): the
sweep is the reaper.
"""

from __future__ import annotations

import os

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

import contextlib  # noqa: E402 - the environment must be set before testcontainers loads
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, cast  # noqa: E402

import docker  # noqa: E402
from docker.errors import DockerException, NotFound  # noqa: E402
from docker.models.containers import Container  # noqa: E402
from testcontainers.core.config import testcontainers_config  # noqa: E402
from testcontainers.core.container import DockerContainer  # noqa: E402
from testcontainers.core.network import Network  # noqa: E402
from testcontainers.core.waiting_utils import WaitStrategy, WaitStrategyTarget  # noqa: E402

from harness.errors import ConfigError  # noqa: E402
from harness.platform.docker.specs import SECRETS_DIR, ContainerSpec  # noqa: E402

testcontainers_config.ryuk_disabled = True

RUN_LABEL = "com.secureconnect.readiness.run"
COMPONENT_LABEL = "com.secureconnect.readiness.component"
HEALTH_POLL_S = 0.25
STOP_GRACE_S = 10


def client() -> docker.DockerClient:
    """A client of the local engine, or a ConfigError saying why there is none."""
    try:
        engine = docker.from_env(timeout=60)
        engine.ping()
    except DockerException as exc:
        raise ConfigError(f"no Docker engine reachable: {exc}") from exc
    return engine


def engine_available() -> bool:
    try:
        client().close()
    except ConfigError:
        return False
    return True


class HealthyAndReady(WaitStrategy):
    """The host-side probe passes (so the published port works too) and Docker reports
    the container healthy, or not yet judged: its first health check runs an interval
    after the start (10 s for a service, 30 s for coturn), and the probe asks what the
    health check asks. Unhealthy is never ready; without a probe, only healthy is. A
    container that exits stops the wait."""

    def __init__(self, probe: Callable[[], None] | None, deadline_s: float) -> None:
        super().__init__()
        self.probe = probe
        self.with_startup_timeout(int(deadline_s)).with_poll_interval(HEALTH_POLL_S)
        self.last_error = "no health report yet"

    def wait_until_ready(self, container: WaitStrategyTarget) -> None:
        wrapped = cast(Container, container.get_wrapped_container())
        deadline = time.monotonic() + self._startup_timeout
        while time.monotonic() < deadline:
            wrapped.reload()
            state = wrapped.attrs["State"]
            if state["Status"] in ("exited", "dead") and not state.get("Restarting"):
                raise RuntimeError(f"exited with code {state.get('ExitCode')}")
            if self._ready(state):
                return
            time.sleep(self._poll_interval)
        raise TimeoutError(f"not healthy after {self._startup_timeout:.0f}s ({self.last_error})")

    def _ready(self, state: dict[str, Any]) -> bool:
        health = state.get("Health") or {}
        judged = health.get("Status", "healthy")
        if judged == "unhealthy" or (judged != "healthy" and self.probe is None):
            log = health.get("Log") or [{}]
            self.last_error = f"health {judged}: {log[-1].get('Output', '')[:200]}"
            return False
        if self.probe is None:
            return True
        try:
            self.probe()
        except Exception as exc:  # any probe failure means "not yet"
            self.last_error = f"probe: {type(exc).__name__}: {exc}"
            return False
        return True


@dataclass
class RunResources:
    """The engine objects of one run, labelled with its id."""

    run_id: str
    engine: docker.DockerClient

    def labels(self, component: str | None = None) -> dict[str, str]:
        labels = {RUN_LABEL: self.run_id}
        if component is not None:
            labels[COMPONENT_LABEL] = component
        return labels

    def network(self) -> Network:
        network = Network(docker_network_kw={"labels": self.labels()})
        network.name = f"readiness-{self.run_id}"
        return network.create()

    def volume(self, component: str, suffix: str) -> str:
        name = f"readiness-{self.run_id}-{component}-{suffix}"
        self.engine.volumes.create(name, labels=self.labels(component))
        return name

    def container(
        self, spec: ContainerSpec, network: Network, secret_files: dict[str, Path]
    ) -> DockerContainer:
        """A testcontainers container for `spec` (created, not started)."""
        container = DockerContainer(
            spec.image,
            name=f"readiness-{self.run_id}-{spec.name}",
            env=spec.env,
            network=network,
            network_aliases=[spec.name, *spec.aliases],
            **self._run_options(spec),
        )
        if spec.command is not None:
            container.with_command(spec.command)
        for host, target in spec.mounts.items():
            container.with_volume_mapping(host, target, "ro")
        for secret in spec.secrets:
            container.with_volume_mapping(str(secret_files[secret]), f"{SECRETS_DIR}/{secret}")
        for suffix, target in spec.volumes.items():
            container.with_volume_mapping(self.volume(spec.name, suffix), target, "rw")
        for path in spec.tmpfs:
            container.with_tmpfs_mount(path)
        ports = cast(dict[str, Any], container.ports)
        for port in spec.ports:
            ports[port.key] = ("127.0.0.1", port.host)
        if not spec.oneshot:
            container.waiting_for(HealthyAndReady(spec.probe, spec.startup_deadline_s))
        return container

    def _run_options(self, spec: ContainerSpec) -> dict[str, Any]:
        options: dict[str, Any] = {
            **spec.docker_options,
            "labels": {**spec.labels, **self.labels(spec.name)},
            "mem_limit": spec.mem_limit,
            # No swap beyond the limit: exceeding it is an OOM kill, as in production.
            "memswap_limit": spec.mem_limit,
            "nano_cpus": int(spec.cpus * 1_000_000_000),
            "init": False,
        }
        if not spec.oneshot:
            options["restart_policy"] = {"Name": spec.restart}
        if spec.healthcheck is not None:
            options["healthcheck"] = spec.healthcheck.to_api()
        if spec.entrypoint is not None:
            options["entrypoint"] = spec.entrypoint
        if spec.user is not None:
            options["user"] = spec.user
        return options


def sweep(engine: docker.DockerClient, run_id: str | None = None) -> dict[str, int]:
    """Remove every container, network and volume of `run_id` (of every run when None).

    Returns how many of each were removed; safe to call any number of times."""
    selector = f"{RUN_LABEL}={run_id}" if run_id else RUN_LABEL
    removed = {"containers": 0, "networks": 0, "volumes": 0}
    for container in engine.containers.list(all=True, filters={"label": selector}):
        with contextlib.suppress(NotFound):
            container.remove(force=True, v=True)
            removed["containers"] += 1
    for network in engine.networks.list(filters={"label": selector}):
        with contextlib.suppress(NotFound):
            network.remove()
            removed["networks"] += 1
    for volume in engine.volumes.list(filters={"label": selector}):
        with contextlib.suppress(NotFound):
            volume.remove(force=True)
            removed["volumes"] += 1
    return removed


def leftovers(engine: docker.DockerClient, run_id: str) -> list[str]:
    """What of `run_id` still exists (empty after a clean teardown)."""
    selector = {"label": f"{RUN_LABEL}={run_id}"}
    return [
        *(f"container {c.name}" for c in engine.containers.list(all=True, filters=selector)),
        *(f"network {n.name}" for n in engine.networks.list(filters=selector)),
        *(f"volume {v.name}" for v in engine.volumes.list(filters=selector)),
    ]
