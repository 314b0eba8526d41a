"""Running the server as a process: start, config file, clean exit on signals."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.errors import FaultError
from harness.tests.toxiproxy.tcp import TcpServer, connect, free_port, round_trip
from harness.toxiproxy.client import ToxiproxyClient

pytestmark = pytest.mark.timeout(60)

DEADLINE_S = 15.0


def _wait_ready(client: ToxiproxyClient, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        try:
            client.version()
            return
        except FaultError:
            assert process.poll() is None, "server exited during start-up"
            assert time.monotonic() < deadline, "server did not answer in time"
            time.sleep(0.05)  # another process: nothing to await but its port


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_the_server_cleanly(
    tmp_path: Path, echo_server: TcpServer, signum: signal.Signals
) -> None:
    listen = f"127.0.0.1:{free_port()}"
    config = tmp_path / "proxies.json"
    config.write_text(
        json.dumps([{"name": "e", "listen": listen, "upstream": echo_server.upstream}])
    )
    port = free_port()
    command = [sys.executable, "-m", "harness.toxiproxy.server", "--port", str(port)]
    process = subprocess.Popen([*command, "--config", str(config)], stderr=subprocess.PIPE)
    try:
        with ToxiproxyClient(f"http://127.0.0.1:{port}", timeout_s=1.0) as client:
            _wait_ready(client, process)
            assert client.proxy("e").listen == listen
        live = connect(("127.0.0.1", int(listen.rsplit(":", 1)[1])))
        round_trip(live)
        process.send_signal(signum)
        _, log = process.communicate(timeout=DEADLINE_S)
    finally:
        process.kill()
    assert process.returncode == 0, log.decode()
    assert b"Traceback" not in log, log.decode()
    with live:
        assert live.recv(10) == b""  # live connections were closed, not abandoned
