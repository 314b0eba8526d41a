"""Containers of the data stores, TURN and Toxiproxy, as compose/docker-compose.yml runs them.

The entrypoint, command, environment, secrets and health-check command of
PostgreSQL, Redis, S3 and coturn are read from the production compose file, so
the harness tests what is deployed; only images, published ports, volumes and
health-check timing (faster, for quick start-up) are the harness's own.
"""

from __future__ import annotations

import shlex
import socket
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from harness.platform import probes
from harness.platform.components.edge import TURN_PROBE_USER
from harness.platform.docker.images import REPO_ROOT, ImageSet
from harness.platform.docker.specs import ContainerSpec, Healthcheck, Port
from harness.platform.ports import free_port
from harness.platform.runtime import RunContext

COMPOSE_DIR = REPO_ROOT / "compose"
COMPOSE_FILE = COMPOSE_DIR / "docker-compose.yml"
#: Where Toxiproxy listens, inside its container, for each proxied store.
PROXY_PORTS = {"postgres": 15432, "redis": 16379, "s3": 19000}
TOXIPROXY_API_PORT = 8474
CAPTURE_HTTP_PORT = 8025
CAPTURE_SMTP_PORT = 2525
#: Health checks of the stores every 2 s: start-up waits on them.
STORE_HEALTH_INTERVAL_S = 2.0
TURN_HEALTH_INTERVAL_S = 5.0


@cache
def compose_services(path: Path = COMPOSE_FILE) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = yaml.safe_load(path.read_text())["services"]
    return services


def from_compose(name: str, image: str, container_port: int, **overrides: Any) -> ContainerSpec:
    """A spec with the compose service's entrypoint, command, env, secrets, limits,
    bind mounts (compose-relative) and named volumes (made per run)."""
    service = compose_services()[name]
    mounts, volumes = {}, {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("."):
            mounts[str((COMPOSE_DIR / source).resolve())] = target
        else:
            volumes[source] = target
    check = service["healthcheck"]
    spec = ContainerSpec(
        name=name,
        image=image,
        command=service.get("command"),
        entrypoint=service.get("entrypoint"),
        env={k: str(v) for k, v in (service.get("environment") or {}).items()},
        user=service.get("user"),
        mounts=mounts,
        secrets=tuple(service.get("secrets", [])),
        volumes=volumes,
        tmpfs=tuple(service.get("tmpfs", [])),
        ports=[Port(container_port, free_port())],
        healthcheck=Healthcheck(
            tuple(check["test"]),
            interval_s=STORE_HEALTH_INTERVAL_S,
            timeout_s=_seconds(check.get("timeout", "5s")),
            retries=int(check.get("retries", 3)),
            start_period_s=_seconds(check.get("start_period", "30s")),
        ),
        mem_limit=str(service["mem_limit"]),
        cpus=float(service["cpus"]),
        restart=str(service["restart"]),
    )
    for key, value in overrides.items():
        setattr(spec, key, value)
    return spec


def _seconds(duration: str) -> float:
    return float(duration.rstrip("s"))


def postgres(run: RunContext, images: ImageSet) -> ContainerSpec:
    spec = from_compose(
        "postgres", images.image("postgres"), 5432, proxy_port=PROXY_PORTS["postgres"]
    )
    # Process kills are the faults here, not power loss (as in the local stack).
    spec.command = [*(spec.command or []), "-c", "fsync=off", "-c", "shared_buffers=128MB"]
    spec.probe = lambda: probes.postgres_tls(
        "127.0.0.1",
        spec.ports[0].host,
        "postgres",
        run.secret("postgres_superuser_password"),
        run.certs.ca_cert,
    )
    return spec


def redis(run: RunContext, images: ImageSet) -> ContainerSpec:
    spec = from_compose("redis", images.image("redis"), 6379, proxy_port=PROXY_PORTS["redis"])
    spec.probe = lambda: probes.redis_ping(
        "127.0.0.1", spec.ports[0].host, run.secret("redis_password")
    )
    return spec


def s3(run: RunContext, images: ImageSet) -> ContainerSpec:
    spec = from_compose("s3", images.image("s3"), 9000, proxy_port=PROXY_PORTS["s3"])
    assert spec.healthcheck is not None
    spec.healthcheck = Healthcheck.shell(
        images.healthcheck("s3"),
        interval_s=STORE_HEALTH_INTERVAL_S,
        start_period_s=spec.healthcheck.start_period_s,
    )
    spec.http = True
    spec.probe = lambda: probes.s3_list_buckets(
        spec.address, run.secret("s3_access_key"), run.secret("s3_secret_key")
    )
    return spec


def coturn(run: RunContext, images: ImageSet) -> ContainerSpec:
    spec = from_compose("coturn", images.image("coturn"), 3478)
    spec.ports = [Port(3478, free_port(socket.SOCK_DGRAM), "udp")]
    assert spec.healthcheck is not None
    # Its check takes ~6 s (a relayed round trip): no point asking more often.
    spec.healthcheck = replace(spec.healthcheck, interval_s=TURN_HEALTH_INTERVAL_S)

    def probe() -> None:
        username, password = probes.turn_credentials(
            run.secret("turn_secret"), TURN_PROBE_USER, probes.TURN_PROBE_CREDENTIAL_TTL_S
        )
        probes.turn_allocate("127.0.0.1", spec.ports[0].host, username, password)

    spec.probe = probe
    return spec


def toxiproxy(images: ImageSet) -> ContainerSpec:
    api = Port(TOXIPROXY_API_PORT, free_port())
    spec = ContainerSpec(
        name="toxiproxy",
        image=images.image("toxiproxy"),
        command=["--host", "0.0.0.0", "--port", str(TOXIPROXY_API_PORT)],
        ports=[api, *(Port(port, free_port()) for port in PROXY_PORTS.values())],
        # Exec form: the official image has no shell.
        healthcheck=Healthcheck(
            ("CMD", *shlex.split(images.healthcheck("toxiproxy"))),
            interval_s=STORE_HEALTH_INTERVAL_S,
            start_period_s=20,
        ),
        # It carries every byte between the services and the stores.
        mem_limit="256m",
        cpus=1.0,
        http=True,
    )
    spec.probe = lambda: probes.http_ok(f"{spec.url}/version")
    return spec


def capture(images: ImageSet) -> ContainerSpec:
    """The SMTP and webhook capture server (stands in for the SMTP relay)."""
    http, smtp = Port(CAPTURE_HTTP_PORT, free_port()), Port(CAPTURE_SMTP_PORT, free_port())
    spec = ContainerSpec(
        name="capture",
        image=images.image("capture"),
        entrypoint=["python", "-m", "harness.platform.capture"],
        command=(
            f"--host 0.0.0.0 --smtp-port {CAPTURE_SMTP_PORT} --http-port {CAPTURE_HTTP_PORT} "
            "--dir /tmp/capture"
        ).split(),
        tmpfs=("/tmp",),
        ports=[http, smtp],
        healthcheck=Healthcheck(
            (
                "CMD",
                "python",
                "-c",
                "import urllib.request; "
                f"urllib.request.urlopen('http://127.0.0.1:{CAPTURE_HTTP_PORT}/health', timeout=2)",
            ),
            interval_s=STORE_HEALTH_INTERVAL_S,
            start_period_s=20,
        ),
        mem_limit="128m",
        cpus=0.25,
        http=True,
        extra={"smtp": f"127.0.0.1:{smtp.host}"},
    )

    def probe() -> None:
        probes.http_ok(f"{spec.url}/health")
        probes.tcp("127.0.0.1", smtp.host)

    spec.probe = probe
    return spec
