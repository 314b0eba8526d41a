"""Free TCP/UDP ports on loopback, chosen at start-up (nothing assumes a fixed port).

Ports are drawn at random from below the kernel's ephemeral range, never from
it: a port the kernel hands out for `bind(0)` is also the kind it gives to the
next outgoing connection, and on a busy machine one of the harness's own
clients took a component's port between the choice and the component's bind
("address already in use"). A port is checked free when chosen, and this
process never hands out the same one twice.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

LOOPBACK = "127.0.0.1"
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
#: The lowest port drawn (well clear of the well-known and registered services).
LOWEST_PORT = 12000
ATTEMPTS = 200

_handed_out: set[int] = set()
_random = random.SystemRandom()


def _pool() -> range:
    """Ports below the ephemeral range; empty when that range starts too low."""
    try:
        ephemeral_low = int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return range(0)
    return range(LOWEST_PORT, ephemeral_low)


def _bindable(port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port free on 127.0.0.1 right now, outside the range outgoing connections use.

    The socket is closed before the port is used, so a race with another process
    is possible but rare; components that fail to bind surface as a StartupError
    naming them.
    """
    pool = _pool()
    for _ in range(ATTEMPTS if len(pool) else 0):
        port = _random.choice(pool)
        if port not in _handed_out and _bindable(port, kind):
            _handed_out.add(port)
            return port
    return _kernel_port(kind)  # no room below the ephemeral range: the kernel's choice


def free_port_range(count: int) -> tuple[int, int]:
    """A run of `count` consecutive UDP ports that are free right now (for TURN relays)."""
    pool = _pool()
    for _ in range(ATTEMPTS):
        if len(pool) > count:
            start = _random.randrange(pool.start, pool.stop - count)
        else:
            start = _kernel_port(socket.SOCK_DGRAM)
        run = range(start, start + count)
        if run.stop <= 65536 and all(
            p not in _handed_out and _bindable(p, socket.SOCK_DGRAM) for p in run
        ):
            _handed_out.update(run)
            return start, start + count - 1
    raise OSError(f"no run of {count} free UDP ports found")


def _kernel_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])
