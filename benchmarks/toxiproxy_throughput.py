"""Bulk-transfer throughput: direct vs through a toxic-free embedded proxy.

    .venv/bin/python benchmarks/toxiproxy_throughput.py [--mb 512] [--runs 5]

Starts the embedded Toxiproxy-compatible server and a sink (each in its own
process, as in a real run), then sends ``--mb`` MiB to the sink directly and
through the proxy, alternating, ``--runs`` times each. A transfer counts as
done when the sink acknowledges every byte. Prints MB/s (best and median)
and the ratio proxy/direct of the medians; the target is >= 0.5.
"""

from __future__ import annotations

import argparse
import multiprocessing
import socket
import statistics
import struct
import subprocess
import sys
import time
from collections.abc import Callable

from harness.toxiproxy.client import ToxiproxyClient

CHUNK_BYTES = 4 * 1024 * 1024
TARGET_RATIO = 0.5
STARTUP_DEADLINE_S = 15.0


def _sink(listener: socket.socket) -> None:
    """Read each connection to EOF, then answer the byte count (8 bytes)."""
    buffer = bytearray(1024 * 1024)
    while True:
        conn, _ = listener.accept()
        with conn:
            received = 0
            while n := conn.recv_into(buffer):
                received += n
            conn.sendall(struct.pack("!Q", received))


def _send(address: tuple[str, int], total: int) -> float:
    """Send ``total`` bytes; seconds until the sink confirmed all of them."""
    payload = memoryview(b"\x5a" * CHUNK_BYTES)
    with socket.create_connection(address, timeout=60) as sock:
        started = time.perf_counter()
        remaining = total
        while remaining:
            step = min(remaining, CHUNK_BYTES)
            sock.sendall(payload[:step])
            remaining -= step
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while len(answer) < 8 and (part := sock.recv(8 - len(answer))):
            answer += part
        elapsed = time.perf_counter() - started
    confirmed = struct.unpack("!Q", answer)[0] if len(answer) == 8 else -1
    if confirmed != total:
        raise SystemExit(f"sink confirmed {confirmed} bytes of {total}")
    return elapsed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_server(port: int) -> tuple[subprocess.Popen[bytes], ToxiproxyClient]:
    command = [sys.executable, "-m", "harness.toxiproxy.server", "--port", str(port)]
    server = subprocess.Popen([*command, "--log-level", "WARNING"])
    client = ToxiproxyClient(f"http://127.0.0.1:{port}", timeout_s=2.0)
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    while True:
        try:
            client.version()
            return server, client
        except Exception:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise
            time.sleep(0.05)  # polling another process: there is nothing to await


def _measure(label: str, run: Callable[[], float], megabytes: float) -> float:
    seconds = run()
    rate = megabytes / seconds
    print(f"  {label:<7} {rate:8.0f} MB/s  ({seconds:.2f} s)", flush=True)
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=512, help="MiB per transfer (default 512)")
    parser.add_argument("--runs", type=int, default=5, help="transfers per path (default 5)")
    args = parser.parse_args()
    total = args.mb * 1024 * 1024
    megabytes = total / 1_000_000

    listener = socket.create_server(("127.0.0.1", 0))
    sink = multiprocessing.Process(target=_sink, args=(listener,), daemon=True)
    sink.start()
    sink_address = listener.getsockname()[:2]
    server, client = _start_server(_free_port())
    try:
        proxy = client.create_proxy("bench", "127.0.0.1:0", f"127.0.0.1:{sink_address[1]}")
        direct: list[float] = []
        proxied: list[float] = []
        print(f"{args.mb} MiB per transfer, {args.runs} runs each:")
        for _ in range(args.runs):
            direct.append(_measure("direct", lambda: _send(sink_address, total), megabytes))
            proxied.append(_measure("proxy", lambda: _send(proxy.address, total), megabytes))
    finally:
        client.close()
        server.terminate()
        server.wait(timeout=10)
        sink.terminate()
    ratio = statistics.median(proxied) / statistics.median(direct)
    print(f"direct: best {max(direct):.0f} MB/s, median {statistics.median(direct):.0f} MB/s")
    print(f"proxy:  best {max(proxied):.0f} MB/s, median {statistics.median(proxied):.0f} MB/s")
    verdict = "meets" if ratio >= TARGET_RATIO else "BELOW"
    print(f"ratio (median proxy / median direct): {ratio:.2f}  {verdict} target {TARGET_RATIO}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
