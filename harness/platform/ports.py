"""Free TCP/UDP ports on loopback, chosen at start-up (nothing assumes a fixed port)."""

from __future__ import annotations

import socket

LOOPBACK = "127.0.0.1"


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """Return a port the kernel just handed out on 127.0.0.1.

    The socket is closed before the port is used, so a race is possible but
    rare; components that fail to bind surface as a StartupError naming them.
    """
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def free_port_range(count: int) -> tuple[int, int]:
    """A run of `count` consecutive UDP ports that are free right now (for TURN relays)."""
    for _ in range(50):
        start = free_port(socket.SOCK_DGRAM)
        if start + count > 65535:
            continue
        if all(_udp_free(port) for port in range(start, start + count)):
            return start, start + count - 1
    raise OSError(f"no run of {count} free UDP ports found")


def _udp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
        return True
