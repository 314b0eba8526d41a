"""CFG-015 reads a TURN health check's allocations right, and its premise holds on a real
coturn: compose's health check script gives its relay back, the same script over UDP
keeps one per run."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from harness.checks.library import turn_relays
from harness.platform.components.edge import Coturn
from harness.platform.local import LocalPlatform
from harness.waiting import eventually

HEALTH_CHECK = Path(__file__).resolve().parents[3] / "compose" / "coturn" / "healthcheck.sh"
RUNS = 3
#: coturn closes a TCP client's allocation as soon as it sees the connection end.
RELEASED_WITHIN_S = 5.0


@pytest.mark.parametrize(
    ("line", "tcp"),
    [
        ("turnutils_uclient -t -p 3478 -W s 10.0.0.1", True),
        ("exec timeout 9 turnutils_uclient -p 3478 -yt -c host", True),
        ("turnutils_uclient -p 3478 -y -c host", False),
        ("turnutils_uclient -p 3478 -u test -w test host", False),
    ],
)
def test_a_call_is_over_tcp_only_with_t(line: str, tcp: bool) -> None:
    (call,) = turn_relays.uclient_calls(line)
    assert turn_relays.over_tcp(call) is tcp


def test_a_continued_line_is_one_call() -> None:
    text = "exec turnutils_uclient -p 3478 \\\n    -t -y host >/dev/null"
    assert turn_relays.uclient_calls(text) == [["-p", "3478", "-t", "-y", "host", ">/dev/null"]]


@pytest.fixture(scope="module")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalPlatform, Coturn]]:
    component = Coturn()
    with LocalPlatform(tmp_path_factory.mktemp("coturn"), [component]) as platform:
        yield platform, component


def _relays_held(platform: LocalPlatform, component: Coturn) -> set[int]:
    pid = platform.endpoint("coturn").pid
    assert pid is not None
    sockets = psutil.Process(pid).net_connections(kind="udp")
    return {s.laddr.port for s in sockets if s.laddr.port in component.relay_ports}


def _run_health_check(platform: LocalPlatform, script: Path, secret: Path) -> None:
    host, port = platform.endpoint("coturn").address.rsplit(":", 1)
    overrides = {"TURN_HOST": host, "TURN_PORT": port, "TURN_SECRET_FILE": str(secret)}
    subprocess.run(["sh", str(script)], env={**os.environ, **overrides}, check=True, timeout=15)


@pytest.mark.stack
@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_the_compose_health_check_gives_its_relay_back(
    coturn: tuple[LocalPlatform, Coturn], transport: str, tmp_path: Path
) -> None:
    platform, component = coturn
    secret = tmp_path / "turn_secret"
    secret.write_text(platform.secret("turn_secret"))
    script = tmp_path / "healthcheck.sh"
    text = HEALTH_CHECK.read_text()
    script.write_text(text if transport == "tcp" else text.replace(" -t ", " "))
    assert turn_relays.over_tcp(turn_relays.uclient_calls(script.read_text())[0]) is (
        transport == "tcp"
    )
    before = _relays_held(platform, component)
    for _ in range(RUNS):
        _run_health_check(platform, script, secret)
    if transport == "tcp":
        eventually(
            lambda: not _relays_held(platform, component) - before,
            RELEASED_WITHIN_S,
            0.2,
            "the health check's relays released",
        )
    else:
        assert len(_relays_held(platform, component) - before) >= RUNS
