"""Ports for the local stack: free, never handed out twice, outside the ephemeral range."""

from __future__ import annotations

import socket

from harness.platform.ports import EPHEMERAL_RANGE, free_port, free_port_range


def test_ports_are_free_distinct_and_below_the_ephemeral_range() -> None:
    ephemeral_low = int(EPHEMERAL_RANGE.read_text().split()[0])
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    assert all(port < ephemeral_low for port in ports)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", ports[-1]))


def test_a_udp_run_is_free_and_shares_no_port_with_others() -> None:
    start, end = free_port_range(16)
    assert end - start == 15
    taken = {free_port(socket.SOCK_DGRAM) for _ in range(100)}
    assert not taken & set(range(start, end + 1))
