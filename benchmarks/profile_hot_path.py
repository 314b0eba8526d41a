"""Where a service's CPU goes on the `GET /api/v1/auth/me` hot path, by py-spy.

    .venv/bin/python benchmarks/profile_hot_path.py [--service gateway|auth] [--seconds 15]

Starts the stack of gateway_overhead.py, drives 10 closed-loop clients through
the gateway while py-spy samples the chosen service (idle frames left out),
and prints the frames that hold the most samples: by self time (the frame is
running) and inclusive (the frame is on the stack). The collapsed stacks are
kept in reports/profiles/ for a flame graph (speedscope.app reads them).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import subprocess
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).parent))
from gateway_overhead import (  # noqa: E402
    benchmark_stack,
    closed_loop,
    get_request,
    settle,
    sign_up,
)

CLIENTS = 10
TOP = 15
#: Where the time goes, by a frame on the stack (shares overlap: a frame inside another).
SHARES = {
    "event loop internals (uvloop: epoll, socket I/O)": ("Runner.run (",),
    "FastAPI routing and dependencies": ("solve_dependencies", "Router.__call__"),
    "rate limit (a Redis round trip)": ("RateLimiter.hit",),
    "upstream exchange (the gateway's transport)": ("KeepAlivePool.exchange",),
    "token check (JWT and revocation list)": ("TokenVerifier.verify",),
    "database (SQLAlchemy and asyncpg)": ("greenlet_spawn",),
    "database pool pre-ping": ("_async_ping",),
    "TLS handshakes of new database connections": ("do_handshake", "_create_ssl_connection"),
    "metrics": ("EdgeMiddleware._record",),
    "access log": ("Logger.info",),
}
PY_SPY = Path(sys.executable).parent / "py-spy"
PROFILES = Path("reports") / "profiles"


def record(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    argv = [str(PY_SPY), "record", "--pid", str(pid), "--duration", str(int(seconds))]
    argv += ["--format", "raw", "--output", str(out), "--rate", "200", "--nonblocking"]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def top_frames(collapsed: Path) -> tuple[collections.Counter[str], collections.Counter[str], int]:
    """Samples per frame: self (innermost), inclusive (anywhere on the stack), and total."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        samples = int(count)
        total += samples
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    return own, inclusive, total


def shares(collapsed: Path) -> dict[str, float]:
    """Per SHARES entry, the fraction of samples with a matching frame (innermost only for
    the event loop, whose own frame is on every stack)."""
    counts = dict.fromkeys(SHARES, 0)
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        total += int(count)
        for name, marks in SHARES.items():
            looked_at = frames[-1:] if name.startswith("event loop") else frames
            if any(mark in frame for mark in marks for frame in looked_at):
                counts[name] += int(count)
    return {name: n / max(1, total) for name, n in counts.items()}


def show(title: str, counts: collections.Counter[str], total: int) -> None:
    print(title)
    for frame, samples in counts.most_common(TOP):
        print(f"  {100 * samples / total:5.1f}%  {frame[:150]}")


async def prepare(stack) -> list[bytes]:
    """Users signed up (argon2: not the hot path), pools warm, past start-up's regime."""
    gateway = stack.endpoint("gateway").url or ""
    _, tokens = await sign_up(gateway, CLIENTS)
    me = [get_request("/api/v1/auth/me", token) for token in tokens]
    pids = [stack.endpoint(name).pid for name in ("gateway", "auth")]
    await settle({str(pid): psutil.Process(pid) for pid in pids if pid is not None})
    await closed_loop(gateway, me, 1.0, {})
    return me


async def drive(stack, me: list[bytes], seconds: float) -> tuple[int, float]:
    sample = await closed_loop(stack.endpoint("gateway").url or "", me, seconds, {})
    return len(sample.latencies_ms), sample.elapsed_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", default="gateway", choices=["gateway", "auth"])
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    PROFILES.mkdir(parents=True, exist_ok=True)
    out = PROFILES / f"{args.service}-{time.strftime('%Y%m%dT%H%M%S')}.txt"
    with benchmark_stack() as stack:
        pid = stack.endpoint(args.service).pid
        assert pid is not None
        me = asyncio.run(prepare(stack))
        cpu_before = sum(psutil.Process(pid).cpu_times()[:2])
        spy = record(pid, args.seconds + 2, out)
        requests, elapsed = asyncio.run(drive(stack, me, args.seconds))
        cpu = sum(psutil.Process(pid).cpu_times()[:2]) - cpu_before
        _, err = spy.communicate(timeout=60)
    if not out.exists():
        print(f"py-spy recorded nothing: {err.decode(errors='replace')[-500:]}")
        return 2
    print(f"{args.service}: {requests} requests in {elapsed:.1f} s, "
          f"{cpu / max(1, requests) * 1e6:.0f} us CPU per request; stacks in {out}")  # fmt: skip
    print("where the time goes")
    for name, share in shares(out).items():
        if share >= 0.001:
            print(f"  {100 * share:5.1f}%  {name}")
    own, inclusive, total = top_frames(out)
    show("self time (the frame was running)", own, total)
    show("inclusive (the frame was on the stack)", inclusive, total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
