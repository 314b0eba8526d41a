"""Which stack a load run hits: `--target`, the one in reports/stack.json, or its own.

Load only ever goes to this machine's loopback: a target elsewhere is refused.
A target that does not answer `/health` is a ConfigError before any user
spawns. Faults need the stack's Toxiproxy and processes, so `--fault` works
on the stack.json stack or on one the run starts, not on a bare URL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psutil

from harness.errors import ConfigError
from harness.platform.attach import AttachPlatform
from harness.platform.base import Platform, StackInfo
from harness.platform.local import LocalPlatform, ProgressCallback, default_components

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
REACH_TIMEOUT_S = 5.0


@dataclass
class Target:
    url: str
    #: Said in the output: where the URL came from.
    source: str
    #: The platform faults act on; None for a bare --target URL.
    stack: Platform | None = None


def check_loopback(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{url!r} is not an http(s) URL")
    if parts.hostname not in LOOPBACK_HOSTS:
        raise ConfigError(f"{url!r} is not on 127.0.0.1: load only goes to the local stack")
    return url.rstrip("/")


def check_reachable(url: str) -> None:
    try:
        answer = httpx.get(f"{url}/health", timeout=REACH_TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise ConfigError(f"target {url} is unreachable: {type(exc).__name__}: {exc}") from exc
    if answer.status_code != 200:
        raise ConfigError(f"target {url} is not healthy: /health answered {answer.status_code}")


def _live_stack(state_file: Path) -> StackInfo | None:
    """The stack of `readiness up --detach`, if its supervisor still runs."""
    if not state_file.exists():
        return None
    info = StackInfo.read(state_file)
    alive = info.supervisor_pid is not None and psutil.pid_exists(info.supervisor_pid)
    return info if alive and info.gateway_url else None


@contextlib.contextmanager
def _attached(url: str, source: str, state_file: Path) -> Iterator[Target]:
    """The running stack of `state_file` as the target, faults through what it grants."""
    stack = AttachPlatform(state_file)
    try:
        yield Target(url, source, stack)
    finally:
        stack.down()


@contextlib.contextmanager
def resolve_target(
    target: str | None,
    state_file: Path,
    need_faults: bool,
    progress: ProgressCallback | None = None,
    on_starting: Callable[[], None] | None = None,
) -> Iterator[Target]:
    """Yield the target of the run; a stack started here is stopped on the way out."""
    if target is not None:
        url = check_loopback(target)
        check_reachable(url)
        info = _live_stack(state_file)
        if info is not None and check_loopback(info.gateway_url or "") == url:
            with _attached(url, f"--target (the stack in {state_file})", state_file) as found:
                yield found
            return
        if need_faults:
            raise ConfigError(
                "--fault needs the stack's Toxiproxy: drop --target to use "
                f"the stack in {state_file} or one started for the run"
            )
        yield Target(url, "--target")
        return
    info = _live_stack(state_file)
    if info is not None:
        url = check_loopback(info.gateway_url or "")
        check_reachable(url)
        with _attached(url, f"the running stack in {state_file}", state_file) as found:
            yield found
        return
    if on_starting is not None:
        on_starting()
    platform = LocalPlatform(components=default_components(), progress=progress)
    platform.up()
    try:
        gateway = platform.endpoint("gateway").url
        assert gateway is not None
        yield Target(gateway, "a local stack started for this run", platform)
    finally:
        platform.down()
