"""Gateway memory while a 100 MiB file downloads through it.

    .venv/bin/python benchmarks/gateway_streaming.py [--mib 100]

Starts auth and storage behind the gateway on the harness's local platform,
uploads a file of random bytes (presigned PUT, then complete), and downloads it
through the gateway (`GET /api/v1/files/{id}/content`, the link download-url
gives) while sampling the resident memory of the gateway and storage processes
every 20 ms. The client reads slowly at first, so a proxy that buffers the
whole upstream body shows it. The downloaded bytes must hash as uploaded.

Target: the gateway's resident memory stays within 20 MiB of its idle figure.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import threading
import time

import httpx
import psutil

from harness.clients.api import ApiClient
from harness.clients.realtime import Files
from harness.platform.local import LocalPlatform, default_components

GROWTH_TARGET_MIB = 20.0
MIB = 1024 * 1024
SAMPLE_EVERY_S = 0.02
#: The client's first reads are slow: an upstream that buffers fills up meanwhile.
SLOW_START_CHUNKS, SLOW_START_PAUSE_S = 20, 0.05


class RssSampler(threading.Thread):
    """The peak resident memory of each process while it runs."""

    def __init__(self, processes: dict[str, psutil.Process]) -> None:
        super().__init__(daemon=True)
        self.processes = processes
        self.peak = {name: _rss(p) for name, p in processes.items()}
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(SAMPLE_EVERY_S):
            for name, process in self.processes.items():
                self.peak[name] = max(self.peak[name], _rss(process))


def _rss(process: psutil.Process) -> int:
    return int(process.memory_info().rss)


def download(url: str) -> tuple[str, int, float]:
    """SHA-256, size and seconds of a slow-starting streamed download."""
    digest, size, started = hashlib.sha256(), 0, time.monotonic()
    with httpx.stream("GET", url, timeout=60) as answer:
        assert answer.status_code == 200, f"download answered {answer.status_code}"
        for index, chunk in enumerate(answer.iter_raw(64 * 1024)):
            digest.update(chunk)
            size += len(chunk)
            if index < SLOW_START_CHUNKS:
                time.sleep(SLOW_START_PAUSE_S)
    return digest.hexdigest(), size, time.monotonic() - started


def run(stack: LocalPlatform, mib: int) -> bool:
    gateway = stack.endpoint("gateway").url or ""
    data = os.urandom(mib * MIB)
    with ApiClient(gateway, timeout_s=120) as api:
        files = Files(api, api.new_session())
        completed = files.upload(data, "benchmark.bin")
        assert completed.status_code == 200, f"complete answered {completed.status_code}"
        file_id = completed.json()["file_id"]
        link = api.http.get(f"/api/v1/files/{file_id}/download-url", headers=files.session.headers)
    processes = {n: psutil.Process(stack.endpoint(n).pid) for n in ("gateway", "storage")}
    idle = {name: _rss(p) for name, p in processes.items()}
    sampler = RssSampler(processes)
    sampler.start()
    try:
        sha, size, seconds = download(link.json()["url"])
    finally:
        sampler.stopping.set()
        sampler.join()
    assert size == len(data) and sha == hashlib.sha256(data).hexdigest(), "bytes differ"
    print(f"downloaded {size / MIB:.0f} MiB through the gateway in {seconds:.1f} s, hash matches")
    for name in processes:
        growth = (sampler.peak[name] - idle[name]) / MIB
        print(
            f"  {name:<8} RSS idle {idle[name] / MIB:6.1f} MiB, "
            f"peak {sampler.peak[name] / MIB:6.1f} MiB, growth {growth:6.1f} MiB"
        )
    growth = (sampler.peak["gateway"] - idle["gateway"]) / MIB
    ok = growth <= GROWTH_TARGET_MIB
    print(f"[{'met' if ok else 'MISSED'}] gateway growth {growth:.1f} MiB <= {GROWTH_TARGET_MIB}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=100, help="size of the file, MiB")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    with LocalPlatform(components=default_components(["auth", "storage"])) as stack:
        ok = run(stack, args.mib)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
