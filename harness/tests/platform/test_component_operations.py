"""Per-component operations, failed starts and teardown of the local platform."""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest
import redis

from harness.errors import ComponentError, StartupError
from harness.platform.components.base import LocalComponent
from harness.platform.components.datastores import S3, Redis
from harness.platform.local import LocalPlatform, default_components
from harness.platform.runtime import RunContext
from harness.platform.watchdog import RESTART_DELAY_S
from harness.waiting import eventually


def _redis_client(platform: LocalPlatform) -> redis.Redis:
    assert platform.run is not None
    host, port = platform.endpoint("redis").address.split(":")
    return redis.Redis(
        host=host,
        port=int(port),
        password=platform.run.secret("redis_password"),
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
    )


@pytest.fixture
def redis_only(tmp_path: Path) -> LocalPlatform:
    platform = LocalPlatform(run_dir=tmp_path / "run", components=[Redis()], restart=False)
    platform.up()
    yield platform  # type: ignore[misc]
    platform.down()


def test_the_watchdog_restarts_what_died_but_not_what_was_stopped(tmp_path: Path) -> None:
    with LocalPlatform(run_dir=tmp_path / "run", components=[Redis()]) as platform:
        old_pid = platform.endpoint("redis").pid
        platform.kill("redis")
        eventually(lambda: platform.restarts("redis") == 1, timeout_s=10, what="restart")
        assert platform.endpoint("redis").pid != old_pid
        eventually(lambda: _ping(platform), timeout_s=10, what="redis answering again")
        platform.stop("redis")
        time.sleep(RESTART_DELAY_S * 2)  # long enough for the watchdog to act, were it to
        assert platform.restarts("redis") == 1
        assert not platform.processes["redis"].running
        platform.start("redis")
        assert _ping(platform)


def _ping(platform: LocalPlatform) -> bool:
    with _redis_client(platform) as client:
        return bool(client.ping())


def test_kill_then_start_brings_the_component_back(redis_only: LocalPlatform) -> None:
    old_pid = redis_only.endpoint("redis").pid
    redis_only.kill("redis")
    assert not psutil.pid_exists(old_pid) or psutil.Process(old_pid).status() == "zombie"
    with _redis_client(redis_only) as client, pytest.raises(redis.ConnectionError):
        client.ping()
    redis_only.start("redis")
    assert redis_only.endpoint("redis").pid != old_pid
    with _redis_client(redis_only) as client:
        assert client.ping()


def test_pause_freezes_and_resume_thaws(redis_only: LocalPlatform) -> None:
    with _redis_client(redis_only) as client:
        redis_only.pause("redis")
        assert psutil.Process(redis_only.endpoint("redis").pid).status() == psutil.STATUS_STOPPED
        with pytest.raises(redis.TimeoutError):
            client.ping()
        redis_only.resume("redis")
        assert client.ping()


def test_restart_and_stats(redis_only: LocalPlatform) -> None:
    redis_only.restart("redis")
    first = redis_only.stats("redis")
    with _redis_client(redis_only) as client:
        for _ in range(2000):
            client.set("k", "v" * 100)
    second = redis_only.stats("redis")
    assert first.rss_bytes > 1_000_000 and first.processes == 1
    assert second.cpu_seconds >= first.cpu_seconds


def test_operations_on_unknown_components_name_them(redis_only: LocalPlatform) -> None:
    with pytest.raises(ComponentError, match="'nope'"):
        redis_only.kill("nope")


class _Crashes(LocalComponent):
    name = "crasher"

    def argv(self, run: RunContext) -> list[str]:
        return ["sh", "-c", "echo 'fatal: cannot open config' >&2; exit 3"]

    def probe(self, run: RunContext) -> None:
        raise ConnectionError("never ready")


class _NeverReady(_Crashes):
    name = "sleeper"
    startup_deadline_s = 1.0

    def argv(self, run: RunContext) -> list[str]:
        return ["sh", "-c", "echo listening nowhere; exec sleep 60"]


def test_a_crashing_component_is_named_with_its_log_and_nothing_is_left(tmp_path: Path) -> None:
    platform = LocalPlatform(run_dir=tmp_path / "run", components=[Redis(), _Crashes()])
    with pytest.raises(StartupError) as failure:
        platform.up()
    assert failure.value.component == "crasher"
    assert "exited with code 3" in str(failure.value)
    assert "fatal: cannot open config" in failure.value.log_tail
    assert not platform.processes  # redis, which did start, was torn down


def test_a_component_that_never_gets_healthy_times_out_with_its_log(tmp_path: Path) -> None:
    platform = LocalPlatform(run_dir=tmp_path / "run", components=[_NeverReady()])
    started = time.monotonic()
    with pytest.raises(StartupError) as failure:
        platform.up()
    assert time.monotonic() - started < 5
    assert "not healthy after 1s" in str(failure.value)
    assert "never ready" in str(failure.value)
    assert "listening nowhere" in failure.value.log_tail


def test_teardown_leaves_no_process(tmp_path: Path) -> None:
    platform = LocalPlatform(run_dir=tmp_path / "run", components=default_components(["auth"]))
    platform.up()
    pids = [p.pid for p in platform.processes.values()]
    children = [c.pid for pid in pids for c in psutil.Process(pid).children(recursive=True)]
    platform.down()
    alive = [
        pid
        for pid in pids + children
        if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    ]
    assert alive == []


class _S3WithDashSecret(S3):
    """Generated secrets may begin with '-': they must not be read as options."""

    def prepare(self, run: RunContext) -> None:
        run.secret_files["s3_secret_key"].write_text("-leading-dash-secret")


def test_secrets_that_look_like_options_are_passed_safely(tmp_path: Path) -> None:
    with LocalPlatform(tmp_path / "run", [_S3WithDashSecret()], restart=False) as platform:
        platform.probe("s3")
