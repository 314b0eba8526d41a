"""Locust as child processes: one headless runner, or a master and K workers.

Locust monkey-patches the socket module with gevent when it is imported, which
breaks a process that already imported `ssl`/`requests` (the harness has): it
therefore only ever runs here, as `python -m locust`, never imported.

    with LocustProcesses(plan) as locust:
        started = locust.wait_started()
        locust.wait_until(started + 30)      # False: Locust already ended
        locust.wait_finished()
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ConfigError, HarnessError
from harness.platform.ports import LOOPBACK, free_port

DEFAULT_LOCUSTFILE = Path(__file__).resolve().parents[2] / "loadtests" / "locustfile.py"
#: How long the master waits for its workers to connect, seconds.
WORKERS_DEADLINE_S = 60
#: Time for users to finish their task after the run's end, seconds.
STOP_TIMEOUT_S = 5
#: Beyond the run's duration: start-up, workers connecting, stopping, writing reports.
FINISH_GRACE_S = WORKERS_DEADLINE_S + STOP_TIMEOUT_S + 45
START_DEADLINE_S = WORKERS_DEADLINE_S + 30
POLL_S = 0.2
CSV_PREFIX = "locust"


@dataclass(frozen=True)
class LocustPlan:
    host: str
    users: int
    spawn_rate: float
    duration_s: float
    out_dir: Path
    workers: int = 0
    locustfile: Path = DEFAULT_LOCUSTFILE

    @property
    def csv_prefix(self) -> Path:
        return self.out_dir / CSV_PREFIX

    @property
    def html(self) -> Path:
        return self.out_dir / "locust.html"


def _locust() -> list[str]:
    if importlib.util.find_spec("locust") is None:
        raise ConfigError("Locust is not installed: pip install -e '.[load]'")
    return [sys.executable, "-m", "locust", "-f", "{locustfile}"]


def master_argv(plan: LocustPlan, master_port: int | None) -> list[str]:
    argv = [
        *_locust(),
        "--headless",
        "--host", plan.host,
        "--users", str(plan.users),
        "--spawn-rate", f"{plan.spawn_rate:g}",
        "--run-time", f"{max(1, round(plan.duration_s))}s",
        "--stop-timeout", str(STOP_TIMEOUT_S),
        "--csv", str(plan.csv_prefix),
        "--csv-full-history",
        "--html", str(plan.html),
        "--only-summary",
        "--exit-code-on-error", "0",
        "--logfile", str(plan.out_dir / "locust.log"),
    ]  # fmt: skip
    if master_port is not None:
        argv += [
            "--master",
            "--master-bind-host", LOOPBACK,
            "--master-bind-port", str(master_port),
            "--expect-workers", str(plan.workers),
            "--expect-workers-max-wait", str(WORKERS_DEADLINE_S),
        ]  # fmt: skip
    return [a.format(locustfile=plan.locustfile) for a in argv]


def worker_argv(plan: LocustPlan, master_port: int, index: int) -> list[str]:
    argv = [
        *_locust(),
        "--worker",
        "--master-host", LOOPBACK,
        "--master-port", str(master_port),
        "--logfile", str(plan.out_dir / f"locust-worker-{index}.log"),
    ]  # fmt: skip
    return [a.format(locustfile=plan.locustfile) for a in argv]


class LocustProcesses:
    """The Locust processes of one run; all are gone when the block is left."""

    def __init__(self, plan: LocustPlan) -> None:
        self.plan = plan
        self.master: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.started_at: float | None = None

    def __enter__(self) -> LocustProcesses:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.plan.out_dir.mkdir(parents=True, exist_ok=True)
        port = free_port() if self.plan.workers else None
        self.master = self._spawn(master_argv(self.plan, port), "locust-master.out")
        for index in range(1, self.plan.workers + 1):
            assert port is not None
            argv = worker_argv(self.plan, port, index)
            self.workers.append(self._spawn(argv, f"locust-worker-{index}.out"))

    def _spawn(self, argv: list[str], output: str) -> subprocess.Popen[bytes]:
        with (self.plan.out_dir / output).open("wb") as log:
            return subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )

    @property
    def running(self) -> bool:
        return self.master is not None and self.master.poll() is None

    def wait_started(self) -> float:
        """Unix time of the run's first stats row (users start then); raises if none comes."""
        history = Path(f"{self.plan.csv_prefix}_stats_history.csv")
        deadline = time.monotonic() + START_DEADLINE_S
        while time.monotonic() < deadline:
            lines = history.read_text().splitlines() if history.exists() else []
            if len(lines) > 1:
                self.started_at = float(lines[1].split(",", 1)[0])
                return self.started_at
            if not self.running:
                raise self._failure("exited before the run started")
            time.sleep(POLL_S)
        raise self._failure(f"did not start within {START_DEADLINE_S}s")

    def wait_until(self, at: float) -> bool:
        """Wait until Unix time `at`; False if Locust ended before then."""
        assert self.master is not None
        try:
            self.master.wait(timeout=max(0.0, at - time.time()))
        except subprocess.TimeoutExpired:
            return True
        return False

    def wait_finished(self) -> None:
        """Wait for the run to end (bounded by its duration plus a grace) and check it."""
        assert self.master is not None
        try:
            code = self.master.wait(timeout=self.plan.duration_s + FINISH_GRACE_S)
        except subprocess.TimeoutExpired:
            raise self._failure("did not finish in time") from None
        if code != 0:
            raise self._failure(f"exited with code {code}")

    def stop(self) -> None:
        for process in [p for p in (self.master, *self.workers) if p is not None]:
            if process.poll() is None:
                process.terminate()
        for process in [p for p in (self.master, *self.workers) if p is not None]:
            try:
                process.wait(timeout=STOP_TIMEOUT_S + 10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _failure(self, what: str) -> HarnessError:
        out = self.plan.out_dir / "locust-master.out"
        tail = out.read_text(errors="replace").strip().splitlines()[-1:] if out.exists() else []
        last = f" (last output: {tail[0][:200]})" if tail else ""
        return HarnessError(f"Locust {what}; see {self.plan.out_dir}{last}")
