"""Stack capacity: the requests per second the whole stack sustains for the mixed
journey (loadtests/locustfile.py) at p95 <= 200 ms, the same figure for the
gateway alone in front of a trivial backend, measured in one run, and the ratio.

    .venv/bin/python benchmarks/stack_capacity.py [--step-seconds 60] [--gateway-step-seconds 30]
        [--stack-users 20,40,80,160,240,320,400,480] [--gateway-users 1,4,16,32,64,128,256]
        [--profile chat-1]

Starts its own local stack, plus a second gateway process (same settings,
same Redis) whose every route points at benchmarks/trivial_backend.py. Each
series steps the Locust user count up and stops at the first step whose p95
passes 200 ms or whose errors pass 5%; the figure is the highest throughput of
a step that met the target. A step is judged on its steady phase only, after
the users are spawned and have signed up (their argon2 sign-up burst is what
the SLO runs judge): throughput and errors from the cumulative counts of
Locust's history, p95 as the worst of its rolling 10 s windows in that phase
(stricter than one p95 over the phase).
The CPU share of the gateway process over each steady phase is printed beside it, and
under each step of the whole stack every component's share and the machine's
(what is left of the machine's is Locust and anything else running): where the
CPU of a journey goes, before anything is optimised. `--profile COMPONENT` also
samples that component with py-spy over each steady phase and prints its top
frames (the collapsed stacks stay in the step's folder, for a flame graph).
Journey users think for seconds between tasks, so their steps are user
counts; gateway users never wait, so their user count is the concurrency.
The per-address rate limit of both gateways is lifted: all load comes from
127.0.0.1 and the benchmark measures capacity, not the limiter's refusals.
Every step prints the load average: the machine has two cores, shared.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.load.locust import DEFAULT_LOCUSTFILE, LocustPlan, LocustProcesses  # noqa: E402
from harness.load.stats import AGGREGATED, HistoryRow, read_stats  # noqa: E402
from harness.platform.components.services import Service  # noqa: E402
from harness.platform.local import LocalPlatform, default_components  # noqa: E402
from harness.platform.ports import LOOPBACK, free_port  # noqa: E402
from harness.waiting import eventually  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from profile_hot_path import record, show, top_frames  # noqa: E402

HERE = Path(__file__).resolve().parent
P95_TARGET_MS = 200.0
#: The performance table's target for the whole stack (benchmarks/README.md); the user
#: counts step up far enough to show it (a journey user makes ~0.7 requests a second).
STACK_RPS_TARGET = 250.0
#: A step with more failures than this is not capacity, whatever its latency.
MAX_ERROR_RATIO = 0.05
UNLIMITED = str(10**9)
RATE_LIMITS = {"SC_RATE_LIMIT_PER_ADDRESS": UNLIMITED, "SC_RATE_LIMIT_PER_USER": UNLIMITED}
READY_DEADLINE_S = 30.0
#: The journey users ramp over this many seconds; gateway users start at once.
JOURNEY_RAMP_S = 10.0
#: After the ramp: journey users sign up (argon2), connections warm up, seconds.
WARMUP_S = {"journeys": 20.0, "gateway": 5.0}
#: Locust's rolling percentile window: a window judged lies wholly in the steady phase.
ROLLING_WINDOW_S = 10.0
#: How long py-spy may take to write its profile after a step, seconds.
PROFILE_GRACE_S = 60.0
#: The stack's CPU with no load at all is measured over this many seconds first: what
#: its periodic work (probes, sweeps, scrapes) costs whatever the traffic.
IDLE_S = 20.0


@dataclass(frozen=True)
class Step:
    users: int
    rps: float
    p95_ms: float
    error_ratio: float
    load_average: tuple[float, float, float]
    #: CPU over the step by component (and "machine": every process), percent of one core.
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def gateway_cpu(self) -> float:
        return self.cpu.get("gateway", 0.0)

    @property
    def met(self) -> bool:
        return self.p95_ms <= P95_TARGET_MS and self.error_ratio <= MAX_ERROR_RATIO

    def line(self, series: str) -> str:
        load = ", ".join(f"{x:.1f}" for x in self.load_average)
        verdict = "meets" if self.met else "misses"
        return (
            f"{series:8} {self.users:4d} users: {self.rps:7.1f} req/s  p95 {self.p95_ms:6.0f} ms  "
            f"errors {self.error_ratio:6.2%}  gateway cpu {self.gateway_cpu:4.0f}%  "
            f"{verdict} p95<= {P95_TARGET_MS:.0f} ms  (load average {load})"
        )


#: A meter reads the CPU seconds something has used so far.
Meters = dict[str, Callable[[], float]]


def process_cpu_s(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def machine_cpu_s() -> float:
    """CPU seconds every core has spent busy since boot (idle and I/O wait excluded)."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def stack_meters(stack: LocalPlatform) -> Meters:
    """One meter per running component of the stack (its processes and their children)."""

    def meter(name: str) -> Callable[[], float]:
        return lambda: stack.stats(name).cpu_seconds

    return {name: meter(name) for name in stack.names() if stack.endpoint(name).pid}


Reading = tuple[dict[str, float], float]


def reading(meters: Meters) -> Reading:
    """Every meter's CPU seconds now, and when."""
    return {name: read() for name, read in meters.items()}, time.monotonic()


def shares(meters: Meters, since: Reading) -> dict[str, float]:
    """Each meter's CPU since `since`, percent of one core."""
    seconds = time.monotonic() - since[1]
    return {name: 100 * (read() - since[0][name]) / seconds for name, read in meters.items()}


@dataclass(frozen=True)
class Series:
    """A stepped series: what its users drive, and what is watched while they do."""

    name: str
    url: str
    locustfile: Path
    step_seconds: float
    out: Path
    meters: Meters
    #: A process py-spy samples over each step's steady phase (--profile), if any.
    profiled: int | None = None

    @property
    def journeys(self) -> bool:
        return self.locustfile == DEFAULT_LOCUSTFILE


def run_step(series: Series, users: int) -> Step:
    """One Locust run of `users`, judged (CPU metered, a process profiled) over its steady
    phase."""
    rate = max(1.0, users / JOURNEY_RAMP_S) if series.journeys else float(users)
    out = series.out / f"{series.name}-{users}"
    plan = LocustPlan(
        series.url, users, rate, series.step_seconds, out, locustfile=series.locustfile
    )
    settle_s = JOURNEY_RAMP_S + WARMUP_S["journeys"] if series.journeys else WARMUP_S["gateway"]
    with LocustProcesses(plan) as locust:
        steady_from = locust.wait_started() + settle_s
        locust.wait_until(steady_from)
        since = reading(series.meters)
        spy = _profile(series, out, series.step_seconds - settle_s)
        locust.wait_finished()
        cpu = shares(series.meters, since)
    if spy is not None:
        _show_profile(spy, out / "profile.txt")
    step = steady_step(users, read_stats(plan.csv_prefix).history, steady_from)
    return replace(step, cpu=cpu)


def _profile(series: Series, out: Path, seconds: float) -> subprocess.Popen[bytes] | None:
    if series.profiled is None:
        return None
    out.mkdir(parents=True, exist_ok=True)
    return record(series.profiled, max(1.0, seconds), out / "profile.txt")


def _show_profile(spy: subprocess.Popen[bytes], collapsed: Path) -> None:
    """The profiled process's top frames over the step (self time), after py-spy ends."""
    _, err = spy.communicate(timeout=PROFILE_GRACE_S)
    if not collapsed.exists():
        print(f"         py-spy recorded nothing: {err.decode(errors='replace')[-300:]}")
        return
    own, _, total = top_frames(collapsed)
    show(f"         profile, self time ({collapsed})", own, total)


def steady_step(users: int, history: list[HistoryRow], steady_from: float) -> Step:
    """Throughput, errors and worst rolling p95 of the Aggregated rows after `steady_from`."""
    load = os.getloadavg()
    rows = [r for r in history if r.name == AGGREGATED and r.timestamp >= steady_from]
    if len(rows) < 2 or rows[-1].timestamp <= rows[0].timestamp:
        return Step(users, 0.0, float("inf"), 1.0, load)
    first, last = rows[0], rows[-1]
    requests = last.total_requests - first.total_requests
    failures = last.total_failures - first.total_failures
    windows = [r.p95_ms for r in rows if r.timestamp >= steady_from + ROLLING_WINDOW_S]
    p95 = max((w for w in windows if w is not None), default=float("inf"))
    rps = requests / (last.timestamp - first.timestamp)
    return Step(users, rps, p95, failures / requests if requests else 1.0, load)


def breakdown(cpu: dict[str, float]) -> str:
    """CPU by component, largest first, percent of one core."""
    ranked = sorted(cpu.items(), key=lambda item: -item[1])
    return "         cpu %: " + "  ".join(f"{name} {share:.0f}" for name, share in ranked)


def idle(meters: Meters, seconds: float = IDLE_S) -> None:
    """Print what the stack's components use with no traffic."""
    meters = {**meters, "machine": machine_cpu_s}
    since = reading(meters)
    time.sleep(seconds)
    print(f"stack       idle for {seconds:.0f} s", flush=True)
    print(breakdown(shares(meters, since)), flush=True)


def step_up(series: Series, users: list[int]) -> list[Step]:
    steps = []
    series = replace(series, meters={**series.meters, "machine": machine_cpu_s})
    for count in users:
        step = run_step(series, count)
        print(step.line(series.name), flush=True)
        if len(series.meters) > 2:
            print(breakdown(step.cpu), flush=True)
        steps.append(step)
        if not step.met:
            break
    return steps


def best(steps: list[Step]) -> Step | None:
    met = [s for s in steps if s.met]
    return max(met, key=lambda s: s.rps) if met else None


def _serve(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(argv, env={**os.environ, **env}, stdout=out, stderr=out)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def start_gateway_alone(
    stack: LocalPlatform, out: Path
) -> tuple[str, list[subprocess.Popen[bytes]]]:
    """A trivial backend and a gateway routing everything to it; returns the gateway URL."""
    assert stack.run is not None
    backend_port, gateway_port = free_port(), free_port()
    backend_url = f"http://{LOOPBACK}:{backend_port}"
    uvicorn = [
        sys.executable, "-m", "uvicorn", "--app-dir", str(HERE), "trivial_backend:app",
        "--host", LOOPBACK, "--port", str(backend_port), "--log-level", "warning",
    ]  # fmt: skip
    processes = [_serve(uvicorn, {}, out / "trivial-backend.log")]
    gateway = stack.components["gateway"]
    assert isinstance(gateway, Service)
    env = {**gateway.env(stack.run), **RATE_LIMITS, "SC_SERVICE_NAME": "gateway-alone"}
    env |= {v: backend_url for v in ("SC_AUTH_URL", "SC_VIDEO_URL", "SC_STORAGE_URL")}
    env["SC_CHAT_URLS"] = backend_url
    argv = [sys.executable, "-m", "secureconnect.gateway", "--host", LOOPBACK,
            "--port", str(gateway_port)]  # fmt: skip
    processes.append(_serve(argv, env, out / "gateway-alone.log"))
    url = f"http://{LOOPBACK}:{gateway_port}"
    eventually(lambda: _healthy(url) and _healthy(backend_url), READY_DEADLINE_S,
               what="the gateway in front of the trivial backend")  # fmt: skip
    return url, processes


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step-seconds", type=float, default=60.0, help="journey steps")
    parser.add_argument("--gateway-step-seconds", type=float, default=30.0)
    parser.add_argument("--stack-users", type=_ints, default=[20, 40, 80, 160, 240, 320, 400, 480])
    parser.add_argument("--gateway-users", type=_ints, default=[1, 4, 16, 32, 64, 128, 256])
    parser.add_argument("--out", type=Path, default=Path("reports") / "stack-capacity")
    parser.add_argument(
        "--profile", metavar="COMPONENT", help="py-spy this stack component in each step"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    components = default_components()
    for component in components:
        if component.name == "gateway" and isinstance(component, Service):
            component.extra_env.update(RATE_LIMITS)
    print(f"load average at start: {os.getloadavg()}", flush=True)
    with LocalPlatform(components=components) as stack:
        stack_url = stack.endpoint("gateway").url or ""
        alone_url, helpers = start_gateway_alone(stack, args.out)
        try:
            alone = Series("gateway", alone_url, HERE / "locust_gateway.py",
                           args.gateway_step_seconds, args.out,
                           {"gateway": lambda: process_cpu_s(helpers[1].pid)})  # fmt: skip
            gateway_steps = step_up(alone, args.gateway_users)
            meters = stack_meters(stack)
            idle(meters)
            profiled = stack.endpoint(args.profile).pid if args.profile else None
            whole = Series("stack", stack_url, DEFAULT_LOCUSTFILE, args.step_seconds, args.out,
                           meters, profiled)  # fmt: skip
            stack_steps = step_up(whole, args.stack_users)
        finally:
            for process in helpers:
                process.terminate()
                process.wait(timeout=10)
    sys.exit(report(best(stack_steps), best(gateway_steps)))


def report(stack: Step | None, gateway: Step | None) -> int:
    """Print the figures; 0 when the stack met STACK_RPS_TARGET, else 1."""

    def figure(step: Step | None) -> str:
        return f"{step.rps:.1f} req/s ({step.users} users)" if step else "no step met the target"

    print(f"\nwhole stack, mixed journey, p95 <= {P95_TARGET_MS:.0f} ms: {figure(stack)}")
    print(f"gateway alone, trivial backend, p95 <= {P95_TARGET_MS:.0f} ms: {figure(gateway)}")
    if stack and gateway and gateway.rps:
        print(f"ratio stack / gateway alone: {stack.rps / gateway.rps:.3f}")
    print(f"load average at end: {os.getloadavg()}")
    met = stack is not None and stack.rps >= STACK_RPS_TARGET
    print(f"target: whole stack >= {STACK_RPS_TARGET:.0f} req/s: {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    main()
