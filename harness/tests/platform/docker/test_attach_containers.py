"""The attach platform controls a component through the container its stack file names: a
crash-like kill the restart policy answers, pause, a stop that stays stopped, samples, logs."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.errors import ComponentError
from harness.platform.attach import AttachPlatform
from harness.platform.docker import ImageSet
from harness.platform.docker.engine import client
from harness.platform.ports import free_port
from harness.platform.stackfile import ComponentInfo, StackInfo


@pytest.fixture(scope="module")
def redis_container(images: ImageSet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A Redis container with a restart policy, and a stack file granting its container
    and its password."""
    folder = tmp_path_factory.mktemp("attach-containers")
    password = secrets.token_urlsafe(16)
    (folder / "redis_password").write_text(password)
    port, name = free_port(), f"readiness-attach-{secrets.token_hex(3)}"
    engine = client()
    container = engine.containers.run(
        images.image("redis"),
        entrypoint=["redis-server"],
        command=["--bind", "0.0.0.0", "--requirepass", password, "--save", ""],
        name=name,
        detach=True,
        ports={"6379/tcp": ("127.0.0.1", port)},
        restart_policy={"Name": "unless-stopped"},
    )
    redis = ComponentInfo(name="redis", address=f"127.0.0.1:{port}", container=name)
    path = folder / "stack.json"
    StackInfo(components={"redis": redis}, secrets_dir=str(folder)).write(path)
    try:
        with AttachPlatform(path) as stack:
            stack.start("redis")  # waits until it answers
        yield path
    finally:
        container.remove(force=True)
        engine.close()


def test_a_killed_container_comes_back_by_its_restart_policy(redis_container: Path) -> None:
    with AttachPlatform(redis_container) as stack:
        before = stack.restarts("redis")
        stack.kill("redis")
        stack.start("redis")  # nothing to start: waits for Docker's restart, healthy
        assert stack.restarts("redis") == before + 1
        stack.probe("redis")


def test_pause_resume_stop_start_stats_and_logs(redis_container: Path) -> None:
    with AttachPlatform(redis_container) as stack:
        stack.pause("redis")
        with pytest.raises(ComponentError, match="redis is paused"):
            stack.probe("redis")
        stack.resume("redis")
        stack.probe("redis")
        stack.stop("redis")
        with pytest.raises(ComponentError, match="redis is exited"):
            stack.probe("redis")
        stack.start("redis")
        stack.probe("redis")
        assert stack.stats("redis").rss_bytes > 0
        assert "Ready to accept connections" in stack.logs("redis")
