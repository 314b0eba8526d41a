"""Containers of the SecureConnect services, the migrations step, Prometheus and Alertmanager.

Service environments come from `common_environment()`, the same contract the
local platform hands its processes, seen from inside the run's network: data
stores through the `toxiproxy` container, secrets under /run/secrets.
Prometheus and Alertmanager get the configs the local platform writes (rules
from compose/prometheus/rules with `for:` shortened), mounted read-only.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from harness.platform import probes
from harness.platform.certs import CertPaths
from harness.platform.components.monitoring import Alertmanager, Prometheus
from harness.platform.components.services import (
    BACKEND_BUDGET_S,
    BACKENDS,
    CHAT_INSTANCES,
    CORS_ALLOWED_ORIGIN,
    GATEWAY_BUDGET_S,
    Dependencies,
    common_environment,
    service_environment,
    service_exists,
    video_environment,
)
from harness.platform.docker.datastores import (
    CAPTURE_HTTP_PORT,
    CAPTURE_SMTP_PORT,
    PROXY_PORTS,
    compose_services,
)
from harness.platform.docker.images import ImageSet
from harness.platform.docker.specs import SECRETS_DIR, ContainerSpec, Healthcheck, Port
from harness.platform.ports import free_port
from harness.platform.runtime import SECRET_NAMES, RunContext

SERVICE_PORT = 8080
#: Every secret a service may read: those of the local stack plus the TLS CA.
SERVICE_SECRETS = (*SECRET_NAMES, "tls_ca_cert")
GATEWAY_URL_VARIABLES = {
    "auth": "SC_AUTH_URL",
    "video": "SC_VIDEO_URL",
    "storage": "SC_STORAGE_URL",
}
SERVICE_HEALTH_INTERVAL_S = 3.0
EVERY_NETWORK = ("0.0.0.0/0", "::/0")
STORE_DEPENDENCIES = ("postgres", "redis", "s3", "toxiproxy", "capture", "coturn")


@dataclass(frozen=True)
class PublicAddresses:
    """Addresses of the stack as clients on the host reach them."""

    turn: str
    s3_endpoint: str


class _At:
    """Where a dependency is, as the services see it (duck-types the local components)."""

    def __init__(self, address: str, upstream: str | None = None, smtp: str = "") -> None:
        self.address = address
        self._upstream = upstream or address
        self.smtp_address = smtp

    def upstream_address(self) -> str:
        return self._upstream

    def url(self) -> str:
        return f"http://{self.address}"


def container_run_view(run: RunContext) -> RunContext:
    """The run as a container sees it: every secret and the CA under /run/secrets."""
    secrets = Path(SECRETS_DIR)
    certs = CertPaths(
        secrets / "tls_ca_cert", secrets / "tls_server_cert", secrets / "tls_server_key"
    )
    return RunContext(
        run_dir=run.run_dir,
        certs=certs,
        secret_files={name: secrets / name for name in SECRET_NAMES},
    )


#: coturn as the containers reach it (the public URL is the host's published port).
TURN_IN_NETWORK = "turn:coturn:3478?transport=udp"


def network_dependencies(turn_address: str) -> Dependencies:
    """The stores as the services see them: through `toxiproxy`; TURN as clients do."""
    return Dependencies(
        postgres=cast(object, _At("postgres:5432", f"toxiproxy:{PROXY_PORTS['postgres']}")),  # type: ignore[arg-type]
        redis=cast(object, _At("redis:6379", f"toxiproxy:{PROXY_PORTS['redis']}")),  # type: ignore[arg-type]
        s3=cast(object, _At("s3:9000", f"toxiproxy:{PROXY_PORTS['s3']}")),  # type: ignore[arg-type]
        capture=cast(
            object, _At(f"capture:{CAPTURE_HTTP_PORT}", smtp=f"capture:{CAPTURE_SMTP_PORT}")
        ),  # type: ignore[arg-type]
        coturn=cast(object, _At(turn_address)),  # type: ignore[arg-type]
    )


def network_environment(run: RunContext, turn_address: str) -> dict[str, str]:
    """common_environment() with in-network addresses."""
    return common_environment(container_run_view(run), network_dependencies(turn_address))


def _health(path: str) -> Healthcheck:
    url = f"http://127.0.0.1:{SERVICE_PORT}{path}"
    test = (
        "CMD",
        "python",
        "-c",
        "import sys, urllib.request; "
        f"sys.exit(urllib.request.urlopen('{url}', timeout=2).status != 200)",
    )
    return Healthcheck(test, interval_s=SERVICE_HEALTH_INTERVAL_S, start_period_s=30)


def service(name: str, module: str, image: str, env: dict[str, str]) -> ContainerSpec:
    limits = compose_services()[module]
    spec = ContainerSpec(
        name=name,
        image=image,
        command=["python", "-m", f"secureconnect.{module}", "--host", "0.0.0.0", "--port", "8080"],
        env=env,
        secrets=SERVICE_SECRETS,
        tmpfs=("/tmp",),
        ports=[Port(SERVICE_PORT, free_port())],
        healthcheck=_health("/health" if module == "backup" else "/ready"),
        mem_limit=str(limits["mem_limit"]),
        cpus=float(limits["cpus"]),
        depends_on=(*STORE_DEPENDENCIES, "migrations"),
        http=True,
    )
    spec.probe = lambda: probes.http_ok(f"{spec.url}/ready")
    return spec


def migrations(image: str, env: dict[str, str]) -> ContainerSpec:
    return ContainerSpec(
        name="migrations",
        image=image,
        command=["python", "-m", "secureconnect.migrations", "upgrade"],
        env={**env, "SC_SERVICE_NAME": "migrations"},
        secrets=SERVICE_SECRETS,
        depends_on=("postgres", "toxiproxy"),
        oneshot=True,
    )


def service_specs(
    run: RunContext,
    images: ImageSet,
    public: PublicAddresses,
    only: Collection[str] | None = None,
) -> list[ContainerSpec]:
    """Migrations, the backends that exist (or those in `only`), then the gateway."""
    if not service_exists("gateway") or (only is not None and not only):
        return []
    base = network_environment(run, public.turn)
    # Presigned URLs are for clients on the host: the S3 proxy's published port.
    base["SC_S3_PUBLIC_ENDPOINT"] = public.s3_endpoint
    image = images.image("secureconnect")
    gateway_port = Port(SERVICE_PORT, free_port())
    base["SC_PUBLIC_BASE_URL"] = f"http://127.0.0.1:{gateway_port.host}"
    modules = [m for m in BACKENDS if (only is None or m in only) and service_exists(m)]
    backends = [spec for m in modules for spec in _backend_specs(run, m, image, base)]
    chats = [f"http://{b.network_address}" for b in backends if b.name.startswith("chat")]
    for backend in backends:
        if backend.name == "video":
            backend.env |= video_environment(network_dependencies(public.turn), chats)
            backend.env["SC_RECORDING_DIR"] = "/tmp/recordings"  # the writable tmpfs
            # Clients get the host's published TURN port; video checks coturn in-network.
            backend.env["SC_TURN_PROBE_URL"] = TURN_IN_NETWORK
        if backend.name == "auth":  # revoked sessions' sockets closed while Redis is away
            backend.env["SC_CHAT_URLS"] = ",".join(chats)
    gateway = _gateway_spec(image, base, backends, chats)
    gateway.ports = [gateway_port]
    return [migrations(image, base), *backends, gateway]


def _backend_specs(
    run: RunContext, module: str, image: str, base: dict[str, str]
) -> list[ContainerSpec]:
    """One container per backend; chat as CHAT_INSTANCES (chat-1, chat-2...)."""
    names = [f"chat-{i}" for i in range(1, CHAT_INSTANCES + 1)] if module == "chat" else [module]
    specs = []
    for name in names:
        env = {
            **base,
            "SC_SERVICE_NAME": module,
            "SC_REQUEST_TIMEOUT_S": str(BACKEND_BUDGET_S),
            **service_environment(module, container_run_view(run)),
        }
        if module == "chat":
            env["SC_INSTANCE_ID"] = name
        if module == "auth":
            # Behind the published ports every client arrives from the same bridge
            # address: per-address throttles cannot tell the harness from a stranger
            # here; they are judged on the local backend.
            env["SC_THROTTLE_EXEMPT_NETWORKS"] = ",".join(EVERY_NETWORK)
        specs.append(service(name, module, image, env))
    return specs


def _gateway_spec(
    image: str, base: dict[str, str], backends: list[ContainerSpec], chats: list[str]
) -> ContainerSpec:
    env = {
        **base,
        "SC_SERVICE_NAME": "gateway",
        "SC_REQUEST_TIMEOUT_S": str(GATEWAY_BUDGET_S),
        "SC_CORS_ORIGINS": CORS_ALLOWED_ORIGIN,
    }
    env.pop("SC_PUBLIC_BASE_URL", None)
    for backend in backends:
        if backend.name in GATEWAY_URL_VARIABLES:
            env[GATEWAY_URL_VARIABLES[backend.name]] = f"http://{backend.network_address}"
    if chats:
        env["SC_CHAT_URLS"] = ",".join(chats)
    gateway = service("gateway", "gateway", image, env)
    gateway.depends_on = (*STORE_DEPENDENCIES, *(b.name for b in backends))
    return gateway


def alertmanager(run: RunContext, images: ImageSet) -> ContainerSpec:
    config = Alertmanager(f"http://capture:{CAPTURE_HTTP_PORT}", f"capture:{CAPTURE_SMTP_PORT}")
    config.prepare(run)
    spec = ContainerSpec(
        name="alertmanager",
        image=images.image("alertmanager"),
        command=[
            "--config.file=/etc/alertmanager/alertmanager.yml",
            "--storage.path=/alertmanager",
            "--web.listen-address=0.0.0.0:9093",
            "--cluster.listen-address=",
        ],
        mounts={str(config.config): "/etc/alertmanager/alertmanager.yml"},
        volumes={"data": "/alertmanager"},
        ports=[Port(9093, free_port())],
        healthcheck=_wget_health(9093),
        mem_limit="128m",
        cpus=0.25,
        depends_on=("capture",),
        http=True,
    )
    spec.probe = lambda: probes.http_ok(f"{spec.url}/-/ready")
    return spec


def prometheus(run: RunContext, images: ImageSet, services: list[ContainerSpec]) -> ContainerSpec:
    targets: dict[str, list[str]] = {}
    for spec in services:
        if not spec.oneshot:
            targets.setdefault(spec.name, []).append(spec.network_address)
    config = Prometheus("alertmanager:9093", targets)
    config.host, config.port = "localhost", 9090  # its own scrape target, inside the container
    config.prepare(run)
    config_dir = str(config.config.parent)
    spec = ContainerSpec(
        name="prometheus",
        image=images.image("prometheus"),
        command=[
            f"--config.file={config.config}",
            "--storage.tsdb.path=/prometheus",
            "--web.listen-address=0.0.0.0:9090",
            "--web.enable-lifecycle",
        ],
        # Mounted at the same path: the config names its rule and target files by it.
        mounts={config_dir: config_dir},
        volumes={"data": "/prometheus"},
        ports=[Port(9090, free_port())],
        healthcheck=_wget_health(9090),
        mem_limit="512m",
        cpus=0.5,
        depends_on=("alertmanager",),
        http=True,
    )
    spec.probe = lambda: probes.http_ok(f"{spec.url}/-/ready")
    return spec


def _wget_health(port: int) -> Healthcheck:
    test = ("CMD", "wget", "-q", "-O", "/dev/null", f"http://127.0.0.1:{port}/-/ready")
    return Healthcheck(test, interval_s=2.0, start_period_s=30)
