"""Control of an attached component's container, on the stack's Docker engine."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import docker
from docker.errors import APIError, DockerException, NotFound
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_fixed

from harness.errors import ComponentError
from harness.platform.attach.grants import not_granted
from harness.platform.docker.resources import SampleTracker
from harness.platform.process import ResourceSample

#: Attempts at `docker pause`: the cgroup freezer gives up while a task sleeps
#: uninterruptibly, and succeeds a moment later.
PAUSE_ATTEMPTS = 5
PAUSE_RETRY_S = 0.2
STOP_GRACE_S = 10


def engine_is_local(docker_host: str | None) -> bool:
    """Whether the Docker engine runs on this machine (its containers' pids are ours)."""
    url = docker_host or os.environ.get("DOCKER_HOST") or "unix://"
    parts = urlsplit(url)
    return parts.scheme in ("unix", "npipe") or parts.hostname in ("127.0.0.1", "localhost", "::1")


def _freezer_busy(exc: BaseException) -> bool:
    return isinstance(exc, APIError) and "unable to freeze" in str(exc)


class ContainerControl:
    """A container on the stack's Docker engine, by name."""

    def __init__(self, name: str, container: str, engine: Callable[[], Any], local: bool):
        self.name = name
        self.container_name = container
        self._engine = engine
        self._local = local
        self._samples = SampleTracker()

    def _container(self) -> Any:
        try:
            return self._engine().containers.get(self.container_name)
        except NotFound:
            raise ComponentError(f"{self.name}: no container {self.container_name!r}") from None
        except DockerException as exc:
            raise ComponentError(f"{self.name}: the Docker engine: {exc}") from exc

    def problem(self) -> str | None:
        state = self._container().attrs["State"]
        if state["Paused"]:
            return "paused"
        if not state["Running"] or state.get("Restarting"):
            return str(state["Status"])
        return None

    def kill(self) -> None:
        """SIGKILL its main process, as a crash would: `docker kill` counts as a stop on
        purpose, after which the restart policy does not act."""
        if not self._local:
            raise not_granted(
                f"a crash-like kill of {self.name}",
                "a docker_host on this machine (docker kill stops on purpose)",
            )
        pid = int(self._container().attrs["State"]["Pid"])
        if pid <= 0:
            raise ComponentError(f"{self.name} is not running")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    @retry(
        retry=retry_if_exception(_freezer_busy),
        stop=stop_after_attempt(PAUSE_ATTEMPTS),
        wait=wait_fixed(PAUSE_RETRY_S),
        reraise=True,
    )
    def pause(self) -> None:
        self._container().pause()

    def resume(self) -> None:
        if self.problem() != "paused":
            raise ComponentError(f"{self.name} is not paused")
        self._container().unpause()

    def stop(self) -> None:
        self._container().stop(timeout=STOP_GRACE_S)

    def take_down_for_restart(self) -> None:
        self.stop()

    def start(self) -> None:
        container = self._container()
        if container.attrs["State"]["Paused"]:
            container.unpause()
        elif not container.attrs["State"]["Running"]:
            container.start()

    def stats(self) -> ResourceSample:
        return self._samples.sample(self.name, self._container())

    def restarts(self) -> int:
        return int(self._container().attrs.get("RestartCount", 0))

    def logs(self) -> str:
        return bytes(self._container().logs()).decode(errors="replace")


def docker_engine(docker_host: str | None) -> Any:
    """A client of the stack's Docker engine (DOCKER_HOST or the local socket by default)."""
    try:
        return docker.DockerClient(base_url=docker_host) if docker_host else docker.from_env()
    except DockerException as exc:
        raise ComponentError(f"cannot reach the Docker engine {docker_host or ''}: {exc}") from exc
