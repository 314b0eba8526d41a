"""The Docker platform end to end: the stack starts healthy from the local images, the
flows work through the gateway container, faults act on containers, Docker's restart
policy brings crashed and OOM-killed containers back, and nothing is left behind.

One stack for the module (about a minute to start on two cores), plus a container
that outgrows its memory limit on purpose.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from harness import ApiClient, FaultInjector, eventually, metric_sample, verification_token
from harness.checks.library import container as container_checks
from harness.clients.realtime import Chat, Files
from harness.platform.docker import DockerPlatform, ImageSet, leftovers
from harness.platform.docker.engine import client
from harness.platform.docker.specs import ContainerSpec, Healthcheck
from harness.platform.runtime import RunContext

HOG = "memhog"
HOG_LIMIT = "48m"
RESTART_DEADLINE_S = 30.0
DEGRADED_DEADLINE_S = 6.0
#: Docker's first health check of a container: the longest interval in the compose files
#: (coturn's 30 s) and its timeout.
FIRST_HEALTH_CHECK_S = 45.0


def memory_hog(_run: RunContext, images: ImageSet) -> list[ContainerSpec]:
    """Healthy for a few seconds, then allocates four times its memory limit."""
    return [
        ContainerSpec(
            name=HOG,
            image=images.image("capture"),
            entrypoint=["python", "-c"],
            command=["import time; time.sleep(3); b = bytearray(200 * 2**20); time.sleep(600)"],
            healthcheck=Healthcheck(("CMD", "true"), interval_s=1, start_period_s=1),
            mem_limit=HOG_LIMIT,
            cpus=0.25,
        )
    ]


@pytest.fixture(scope="module")
def stack(images: ImageSet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerPlatform]:
    run_dir = tmp_path_factory.mktemp("docker")
    with DockerPlatform(run_dir, images=images, extra_specs=memory_hog) as platform:
        yield platform


@pytest.fixture
def api(stack: DockerPlatform) -> Iterator[ApiClient]:
    with ApiClient(stack.endpoint("gateway").url or "") as client_:
        yield client_


def _passes(check: Callable[[], object]) -> bool:
    """For `eventually`, which stops at the first exception: a failure is a False."""
    try:
        return bool(check())
    except Exception:  # not there yet, whatever the reason
        return False


def _app_components(stack: DockerPlatform) -> list[str]:
    return [name for name in stack.names() if name != HOG]


def _docker_says(stack: DockerPlatform, name: str) -> str:
    state = client().containers.get(f"readiness-{stack.run_id}-{name}").attrs["State"]
    return str(state["Health"]["Status"])


def test_every_container_is_healthy(stack: DockerPlatform) -> None:
    """Docker's own health check passes too: its first run comes an interval after the
    start, which the stack's start-up does not wait for."""
    for name in _app_components(stack):
        stack.probe(name)
        eventually(
            lambda n=name: _docker_says(stack, n) == "healthy",
            FIRST_HEALTH_CHECK_S,
            what=f"Docker calling {name} healthy",
        )


def test_containers_carry_limits_and_the_restart_policy(stack: DockerPlatform) -> None:
    engine = client()
    for name in _app_components(stack):
        config = engine.containers.get(f"readiness-{stack.run_id}-{name}").attrs["HostConfig"]
        assert config["Memory"] > 0 and config["NanoCpus"] > 0, name
        assert config["RestartPolicy"]["Name"] == "unless-stopped", name


def test_auth_flow_through_the_gateway_container(stack: DockerPlatform, api: ApiClient) -> None:
    registered = api.register()
    assert registered.status_code == 201, registered.text
    email = registered.json()["email"]
    token = verification_token(stack.endpoint("capture").url or "", email)
    assert api.http.post("/api/v1/auth/verify-email", json={"token": token}).status_code == 200
    pair = api.login(email).json()
    me = api.me(pair["access_token"])
    assert me.status_code == 200 and me.json()["email_verified"] is True
    assert api.refresh(pair["refresh_token"]).status_code == 200


def test_chat_flow_through_the_gateway_container(stack: DockerPlatform, api: ApiClient) -> None:
    if "chat-1" not in stack.names():
        pytest.skip("no chat service yet")
    alice, bob = api.new_session(), api.new_session()
    conversation = Chat(api, alice).conversation(bob)
    sent = Chat(api, alice).send(conversation, "hello from a container")
    assert sent.status_code == 201, sent.text
    history = Chat(api, bob).history(conversation)
    assert "hello from a container" in [m["content"] for m in history]


def test_file_flow_through_the_gateway_container(stack: DockerPlatform, api: ApiClient) -> None:
    if "storage" not in stack.names():
        pytest.skip("no storage service yet")
    owner = api.new_session()
    files = Files(api, owner)
    data = os.urandom(64 * 1024)
    completed = files.upload(data)
    assert completed.status_code == 200, completed.text
    assert files.download(completed.json()["file_id"]) == data


def test_redis_cut_through_the_toxiproxy_container_degrades_auth(stack: DockerPlatform) -> None:
    auth = stack.endpoint("auth").url or ""
    proxies = stack.toxiproxy.proxies()
    assert proxies["redis"].upstream == stack.endpoint("redis").address
    injector = FaultInjector(stack)
    try:
        with injector.cut("redis"):
            eventually(
                lambda: metric_sample(auth, "redis_degraded_mode", service="auth") == 1,
                DEGRADED_DEADLINE_S,
                what="auth redis_degraded_mode 1",
            )
        eventually(
            lambda: metric_sample(auth, "redis_degraded_mode", service="auth") == 0,
            DEGRADED_DEADLINE_S * 2,
            what="auth redis_degraded_mode back to 0",
        )
    finally:
        assert injector.restore() == []


def test_a_killed_container_is_back_healthy_within_30s(stack: DockerPlatform) -> None:
    name = "chat-1" if "chat-1" in stack.names() else "auth"
    restarts = stack.restarts(name)
    elapsed = container_checks.recovery_time(stack, name, RESTART_DEADLINE_S)
    assert elapsed is not None, f"{name} not healthy {RESTART_DEADLINE_S}s after SIGKILL"
    assert stack.restarts(name) == restarts + 1, "Docker's restart policy did not restart it"


def test_toxiproxy_comes_back_with_its_proxies(stack: DockerPlatform) -> None:
    stack.kill("toxiproxy")
    eventually(
        lambda: _passes(lambda: set(stack.toxiproxy.proxies()) == {"postgres", "redis", "s3"}),
        RESTART_DEADLINE_S,
        what="Toxiproxy restarted with every proxy",
    )


def test_oom_killed_container_restarts_and_the_resource_check_says_so(
    stack: DockerPlatform,
) -> None:
    eventually(lambda: stack.restarts(HOG) >= 1, RESTART_DEADLINE_S, what="memhog restarted")
    sample = stack.stats(HOG)
    assert sample.oom_killed and sample.memory_limit_bytes == 48 * 2**20
    defects = container_checks.memory_defects(stack, {}, 256)
    assert HOG in defects, defects
    assert "OOM-killed at its 48 MiB limit" in defects[HOG], defects[HOG]
    assert all(name == HOG for name in defects), f"only the hog is over budget: {defects}"


def test_pause_and_resume(stack: DockerPlatform) -> None:
    gateway = stack.endpoint("gateway").url or ""
    stack.pause("auth")
    try:
        with pytest.raises(httpx.TimeoutException):
            httpx.get(f"{stack.endpoint('auth').url}/health", timeout=1)
        assert httpx.get(f"{gateway}/api/v1/auth/me", timeout=10).status_code == 504
    finally:
        stack.resume("auth")
    eventually(
        lambda: _passes(lambda: stack.probe("auth") is None), 10, what="auth answering again"
    )


def test_stop_stays_down_until_start(stack: DockerPlatform) -> None:
    restarts = stack.restarts("capture")
    stack.stop("capture")
    time.sleep(2)  # the restart policy's first retry would come within 100 ms
    with pytest.raises(Exception, match="exited"):
        stack.probe("capture")
    stack.start("capture")
    stack.probe("capture")
    assert stack.restarts("capture") == restarts


def test_stats_and_logs(stack: DockerPlatform) -> None:
    first = stack.stats("gateway")
    assert 0 < first.rss_bytes < first.memory_limit_bytes and first.processes >= 1
    logs = stack.logs("gateway")
    assert '"service": "gateway"' in logs or '"service":"gateway"' in logs, logs[-500:]


def test_down_removes_every_container_network_and_volume(stack: DockerPlatform) -> None:
    run_dir = stack.run.run_dir if stack.run else Path()
    stack.down()
    assert leftovers(client(), stack.run_id) == []
    assert (run_dir / "logs" / "gateway.log").is_file(), "container logs were not kept"


def test_a_failed_start_leaves_nothing_behind(images: ImageSet, tmp_path: Path) -> None:
    def broken(_run: RunContext, _images: ImageSet) -> list[ContainerSpec]:
        check = Healthcheck(("CMD", "false"), interval_s=1, retries=1, start_period_s=0)
        return [
            ContainerSpec(
                name="broken",
                image=images.image("capture"),
                entrypoint=["python", "-c", "import time; time.sleep(60)"],
                healthcheck=check,
                startup_deadline_s=10,
            )
        ]

    platform = DockerPlatform(tmp_path, services=[], images=images, extra_specs=broken)
    with pytest.raises(Exception, match="broken failed to start"):
        platform.up()
    assert leftovers(client(), platform.run_id) == []
