"""Keep a stack up in the foreground, in the background (`--detach`), and take it down.

A detached stack is owned by a supervisor process (`readiness up --supervised`)
whose pid goes into the state file; `down` asks it to stop (SIGTERM) and, if it
is gone or stuck, kills whatever component pids the state file still lists.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from harness.errors import ConfigError, StartupError
from harness.platform.backends import create_platform
from harness.platform.base import Platform, StackInfo
from harness.platform.local import ProgressCallback

DETACH_DEADLINE_S = 120.0
DOWN_GRACE_S = 30.0


def _raise_interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def serve_foreground(
    backend: str,
    state_file: Path,
    progress: ProgressCallback | None = None,
    on_up: Callable[[StackInfo], None] | None = None,
    stop: threading.Event | None = None,
    services: list[str] | None = None,
) -> None:
    """Bring the stack up and hold it (see `hold`).

    The state file is rewritten whenever the platform restarts a component, so the
    pids in it stay current."""
    platform: Platform

    def rewrite(_component: str) -> None:
        _write_state(platform.info(), state_file)

    platform = create_platform(backend, services, progress, on_restart=rewrite)
    hold(platform, state_file, on_up, stop)


def hold(
    platform: Platform,
    state_file: Path,
    on_up: Callable[[StackInfo], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Bring the stack up, write the state file, wait for Ctrl-C or SIGTERM, tear down."""
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        info = platform.up()
        _write_state(info, state_file)
        if on_up is not None:
            on_up(info)
        (stop or threading.Event()).wait()
    except KeyboardInterrupt:
        pass
    finally:
        platform.down()
        state_file.unlink(missing_ok=True)
        signal.signal(signal.SIGTERM, previous)


def _write_state(info: StackInfo, state_file: Path) -> None:
    info.supervisor_pid = os.getpid()
    info.write(state_file)


def start_detached(
    backend: str, state_file: Path, log_file: Path, services: list[str] | None = None
) -> StackInfo:
    """Start a supervisor in its own session and wait until it reports the stack up."""
    if state_file.exists():
        existing = _read_live(state_file)
        if existing is not None:
            raise ConfigError(f"a stack is already up (supervisor pid {existing.supervisor_pid})")
        state_file.unlink()
    log_file.parent.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.executable,
        "-m",
        "harness.cli",
        "up",
        "--supervised",
        f"--backend={backend}",
        "--state-file",
        str(state_file),
        *(f"--service={name}" for name in services or []),
    ]
    with log_file.open("ab") as log:
        child = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + DETACH_DEADLINE_S
    while time.monotonic() < deadline:
        if child.poll() is not None:
            tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-20:])
            raise StartupError("stack", f"supervisor exited with {child.returncode}", tail)
        info = _read_live(state_file)
        if info is not None and info.supervisor_pid == child.pid:
            return info
        time.sleep(0.2)
    child.terminate()
    raise StartupError("stack", f"not up after {DETACH_DEADLINE_S:.0f}s; see {log_file}")


def _read_live(state_file: Path) -> StackInfo | None:
    try:
        info = StackInfo.read(state_file)
    except ConfigError:
        return None
    if info.supervisor_pid is None or not psutil.pid_exists(info.supervisor_pid):
        return None
    return info


def take_down(state_file: Path) -> list[str]:
    """Stop a detached stack; returns the names of components that had to be killed."""
    info = StackInfo.read(state_file)
    started = state_file.stat().st_mtime
    if info.supervisor_pid is not None:
        _terminate(info.supervisor_pid, started)
    killed = []
    for component in info.components.values():
        if component.pid is not None and _kill_if_ours(component.pid, started):
            killed.append(component.name)
    state_file.unlink(missing_ok=True)
    return killed


def _terminate(pid: int, not_after: float) -> None:
    try:
        proc = psutil.Process(pid)
        if proc.create_time() > not_after:
            return  # the pid was reused by something newer than our stack
        proc.terminate()
        proc.wait(timeout=DOWN_GRACE_S)
    except psutil.NoSuchProcess:
        return
    except psutil.TimeoutExpired:
        proc.kill()


def _kill_if_ours(pid: int, not_after: float) -> bool:
    """SIGKILL a leftover component's process group unless the pid was reused."""
    try:
        proc = psutil.Process(pid)
        if proc.create_time() > not_after or proc.status() == psutil.STATUS_ZOMBIE:
            return False
        os.killpg(pid, signal.SIGKILL)
        return True
    except (psutil.NoSuchProcess, ProcessLookupError, PermissionError):
        return False
