"""The link's two paths: order and bytes survive switching between them."""

from __future__ import annotations

import hashlib
import os
import threading
import time

import pytest

from harness.tests.toxiproxy.tcp import connect, recv_exactly
from harness.toxiproxy.client import ProxyInfo, ToxiproxyClient
from harness.toxiproxy.server.stages import _slice_offsets

pytestmark = pytest.mark.timeout(60)


def _echo_intact(proxy: ProxyInfo, payload: bytes, during: threading.Thread) -> None:
    with connect(proxy.address, timeout_s=20) as sock:
        sender = threading.Thread(target=sock.sendall, args=(payload,))
        sender.start()
        during.start()
        echoed = recv_exactly(sock, len(payload))
        sender.join(timeout=20)
        during.join(timeout=20)
    assert hashlib.sha256(echoed).digest() == hashlib.sha256(payload).digest()


def test_bulk_data_through_a_toxic_arrives_intact(
    client: ToxiproxyClient, echo_proxy: ProxyInfo
) -> None:
    # 8 MiB against a 20 ms latency both ways: the queue fills, reading
    # pauses and resumes many times, and nothing is lost or reordered.
    client.add_toxic(echo_proxy.name, "latency", stream="upstream", latency=20)
    client.add_toxic(echo_proxy.name, "latency", stream="downstream", latency=20)
    _echo_intact(echo_proxy, os.urandom(8 * 1024 * 1024), threading.Thread(target=lambda: None))


def test_toxics_toggled_mid_stream_keep_the_byte_order(
    client: ToxiproxyClient, echo_proxy: ProxyInfo
) -> None:
    def toggle() -> None:
        deadline = time.monotonic() + 3.0
        for _ in range(10):
            if time.monotonic() > deadline:
                break
            client.add_toxic(echo_proxy.name, "latency", latency=5, jitter=4)
            client.add_toxic(echo_proxy.name, "slicer", stream="upstream", average_size=4096)
            client.remove_toxic(echo_proxy.name, "latency_downstream")
            client.remove_toxic(echo_proxy.name, "slicer_upstream")

    _echo_intact(echo_proxy, os.urandom(8 * 1024 * 1024), threading.Thread(target=toggle))


@pytest.mark.parametrize(("size", "average", "variation"), [(1000, 100, 20), (7, 3, 0), (5, 10, 2)])
def test_slices_cover_the_chunk_in_order(size: int, average: int, variation: int) -> None:
    offsets = _slice_offsets(0, size, average, variation)
    assert offsets[0][0] == 0 and offsets[-1][1] == size
    assert all(end == start for (_, end), (start, _) in zip(offsets, offsets[1:], strict=False))
    assert all(0 < end - start <= average + variation for start, end in offsets)
