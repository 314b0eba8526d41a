"""One child process of the local platform: start, signal, sample, read its log.

Every child runs in its own session (so a Ctrl-C in the terminal reaches the
harness, which tears down in order, not every child at once) and, where the
kernel allows, with a parent-death signal so that even a harness killed with
SIGKILL leaves nothing behind. The parent-death signal fires when the *thread*
that forked the child exits, so all children are forked from one long-lived
spawner thread rather than from whichever thread asked.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import psutil

from harness.errors import ComponentError, StartupError

STOP_GRACE_S = 10.0
SIGNAL_SETTLE_S = 2.0
LOG_TAIL_LINES = 40

log = logging.getLogger("harness.platform")


@dataclass(frozen=True)
class ResourceSample:
    """Resident memory and CPU of a component (all its processes)."""

    #: Resident memory with pages shared between the processes counted once (the sum of
    #: their proportional set sizes), as a container's memory cgroup would charge it:
    #: PostgreSQL's shared buffers appear in every backend's RSS, not in the sum of PSS.
    rss_bytes: int
    cpu_seconds: float
    #: CPU it got since the previous sample, percent of one core.
    cpu_percent: float
    processes: int
    #: CPU it wanted since the previous sample: what it got plus the time its threads
    #: were runnable but waited for a core (the scheduler's run-queue wait). On a busy
    #: machine a spinning process gets only its share, yet wants a whole core. Equal to
    #: cpu_percent where the run queue cannot be seen.
    cpu_wanted_percent: float


class _Spawner:
    """Forks children from a single daemon thread that lives as long as the harness."""

    def __init__(self) -> None:
        self._requests: queue.Queue[tuple[Callable[[], subprocess.Popen[bytes]], Future]] = (
            queue.Queue()
        )
        threading.Thread(target=self._serve, name="process-spawner", daemon=True).start()

    def _serve(self) -> None:
        while True:
            factory, future = self._requests.get()
            try:
                future.set_result(factory())
            except BaseException as exc:  # handed to the caller, re-raised there
                future.set_exception(exc)

    def spawn(self, factory: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
        future: Future[subprocess.Popen[bytes]] = Future()
        self._requests.put((factory, future))
        return future.result()


_spawner: _Spawner | None = None
_spawner_lock = threading.Lock()


def _spawn(factory: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = _Spawner()
    return _spawner.spawn(factory)


def _wrap(argv: list[str], user: str | None) -> list[str]:
    """Prefix argv with setpriv: a parent-death signal, or a user switch for daemons
    (such as postgres) that refuse to run as root. The kernel clears the death signal
    on a credential change, so a switched child relies on the explicit teardown."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return argv
    if user is not None:
        return [setpriv, f"--reuid={user}", f"--regid={user}", "--init-groups", "--", *argv]
    return [setpriv, "--pdeathsig=KILL", "--", *argv]


class ManagedProcess:
    """A named child process whose output goes to a log file."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        log_path: Path,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
    ) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.user = user if user is not None and os.geteuid() == 0 else None
        self._popen: subprocess.Popen[bytes] | None = None
        self._last_cpu: CpuReading | None = None

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None else None

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return self._popen.poll() if self._popen is not None else None

    def start(self) -> None:
        if self.running:
            return
        env = {**os.environ, **(self.env or {})}
        argv = _wrap(self.argv, self.user)

        def factory() -> subprocess.Popen[bytes]:
            with self.log_path.open("ab") as log:
                return subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=self.cwd,
                    start_new_session=True,
                )

        try:
            self._popen = _spawn(factory)
        except OSError as exc:
            raise ComponentError(f"{self.name}: cannot execute {self.argv[0]}: {exc}") from exc
        self._last_cpu = None

    def _signal_group(self, sig: signal.Signals) -> None:
        if self._popen is None or self._popen.poll() is not None:
            raise ComponentError(f"{self.name} is not running")
        signal_group(self.name, self._popen.pid, sig)

    def kill(self) -> None:
        """SIGKILL the whole process group, as a crash would, and reap it."""
        self._signal_group(signal.SIGKILL)
        assert self._popen is not None
        self._popen.wait(timeout=STOP_GRACE_S)

    def pause(self) -> None:
        """SIGSTOP the group and return once the kernel shows it stopped."""
        self._signal_group(signal.SIGSTOP)
        assert self.pid is not None
        wait_stopped(self.name, self.pid)

    def resume(self) -> None:
        self._signal_group(signal.SIGCONT)

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """SIGTERM (after a SIGCONT, in case it is paused), then SIGKILL after the grace."""
        if self._popen is None:
            return
        if self._popen.poll() is None:
            for sig in (signal.SIGCONT, signal.SIGTERM):
                _killpg_quietly(self._popen.pid, sig)
            try:
                self._popen.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                log.warning("%s still running %.0fs after SIGTERM: killed", self.name, grace_s)
                _killpg_quietly(self._popen.pid, signal.SIGKILL)
                self._popen.wait(timeout=STOP_GRACE_S)
        # Stray members of the group (worker processes) go with their leader.
        _killpg_quietly(self._popen.pid, signal.SIGKILL)

    def sample(self) -> ResourceSample:
        """Memory (PSS) and CPU of the process and its children; percent since the last one."""
        if not self.running:
            raise ComponentError(f"{self.name} is not running")
        assert self.pid is not None
        sample, self._last_cpu = sample_tree(self.pid, self._last_cpu)
        return sample

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def signal_group(name: str, pid: int, sig: signal.Signals) -> None:
    """Send `sig` to the process group `pid` leads (its workers too), or to `pid` alone
    when it leads none (a process some other supervisor started)."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError as exc:
        raise ComponentError(f"{name} (pid {pid}) vanished before {sig.name}") from exc
    except PermissionError as exc:
        raise ComponentError(f"{name} (pid {pid}): not allowed to send {sig.name}") from exc


def wait_stopped(name: str, pid: int) -> None:
    """Return once every process of `pid`'s tree is stopped (after a SIGSTOP)."""
    deadline = time.monotonic() + SIGNAL_SETTLE_S
    while time.monotonic() < deadline:
        if all(_is_stopped(proc) for proc in _process_tree(pid)):
            return
        time.sleep(0.01)
    raise ComponentError(f"{name} did not stop within {SIGNAL_SETTLE_S}s of SIGSTOP")


def sample_tree(pid: int, last: CpuReading | None) -> tuple[ResourceSample, CpuReading]:
    """Memory (PSS) and CPU of `pid` and its children, percent since `last`; the reading
    to pass as `last` next time."""
    procs = _process_tree(pid)
    rss = cpu = 0.0
    for proc in procs:
        try:
            rss += _resident_bytes(proc)
            times = proc.cpu_times()
            cpu += times.user + times.system
        except psutil.Error:
            continue
    reading = CpuReading(time.monotonic(), cpu, _run_queue_waits(procs))
    got, wanted = reading.percents_since(last)
    return ResourceSample(int(rss), cpu, got, len(procs), wanted), reading


@dataclass(frozen=True)
class CpuReading:
    """CPU seconds a component got, and each thread's run-queue wait, at one moment."""

    at: float
    cpu_seconds: float
    #: thread id → nanoseconds it spent runnable but waiting for a core (schedstat)
    waits_ns: dict[int, int]

    def percents_since(self, last: CpuReading | None) -> tuple[float, float]:
        """(got, wanted) percent of one core since `last`; zeros without one."""
        if last is None or self.at <= last.at:
            return 0.0, 0.0
        elapsed = self.at - last.at
        got = max(100.0 * (self.cpu_seconds - last.cpu_seconds) / elapsed, 0.0)
        # Threads born since `last` waited within the window; threads gone since are lost.
        waited_ns = sum(max(ns - last.waits_ns.get(tid, 0), 0) for tid, ns in self.waits_ns.items())
        return got, got + 100.0 * waited_ns / 1e9 / elapsed


def _run_queue_waits(procs: list[psutil.Process]) -> dict[int, int]:
    """Run-queue wait (ns) of every thread of `procs`, from /proc/<pid>/task/<tid>/schedstat
    ("<ran ns> <waited ns> <timeslices>"); empty where the kernel does not show it."""
    waits = {}
    for proc in procs:
        try:
            tids = os.listdir(f"/proc/{proc.pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                fields = Path(f"/proc/{proc.pid}/task/{tid}/schedstat").read_text().split()
                waits[int(tid)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    return waits


def _resident_bytes(proc: psutil.Process) -> int:
    """PSS where the kernel tells it (shared pages split between their users), else RSS."""
    try:
        return int(proc.memory_full_info().pss)
    except (psutil.AccessDenied, AttributeError):
        return int(proc.memory_info().rss)


def _process_tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _is_stopped(proc: psutil.Process) -> bool:
    try:
        return proc.status() in (psutil.STATUS_STOPPED, psutil.STATUS_TRACING_STOP)
    except psutil.NoSuchProcess:
        return True


def _killpg_quietly(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def run_once(
    component: str,
    argv: list[str],
    log_path: Path,
    user: str | None = None,
    timeout_s: float = 120.0,
    env: dict[str, str] | None = None,
) -> None:
    """Run a set-up command (initdb...) to completion, as `user` when we are root."""
    switch = user if user is not None and os.geteuid() == 0 else None
    wrapped = _wrap(argv, switch) if switch else argv
    with log_path.open("ab") as log:
        try:
            result = subprocess.run(
                wrapped,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout_s,
                check=False,
                env={**os.environ, **env} if env else None,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise StartupError(component, f"{argv[0]} failed: {exc}") from exc
    if result.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
        raise StartupError(component, f"{Path(argv[0]).name} exited {result.returncode}", tail)
