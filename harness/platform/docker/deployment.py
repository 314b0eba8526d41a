"""The shipped compose deployment, as the container backend starts it.

One description of the deployment, the one that ships: the containers are read
from `compose config` of compose/docker-compose.yml + docker-compose.monitoring.yml
+ docker-compose.chaos.yml, with the offline images (compose/offline/images.env,
the files' own `*_IMAGE` variables) and secrets and certificates made by
compose/generate-secrets. Everything Docker enforces (commands, entrypoints,
environment, secrets, mounts, health checks, restart policies, limits, read-only
roots, dropped capabilities, logging) is what those files say.

What the harness changes, all of it here (HARNESS_OVERLAY lists it for the report):

- Its own reach: every component's port published on 127.0.0.1 (ephemeral), so
  checks probe, scrape and break each one. Health checks keep the files'
  intervals: start-up is waited for with the host-side probe while Docker still
  says "starting" (engine.HealthyAndReady). Asked every 2-3 s, the checks' own
  process spawns took ~0.7 of this machine's 2 cores at rest, and the load checks
  measured the harness instead of the product.
- The outside world: the SMTP relay is the capture server (STARTTLS with a
  certificate of the run's CA, which services and Alertmanager trust through
  SSL_CERT_FILE, and AUTH with the deployment's smtp_username/smtp_password), the
  incident webhook and incoming-call pushes go to it too, and public addresses
  (gateway URL, presigned S3 URLs, TURN) are the host's published ports.
- The test configuration the checks are written against: chat scaled to two
  instances (every SC_CHAT_URLS lists both), request budgets BACKEND_BUDGET_S and
  GATEWAY_BUDGET_S, the backup interval, the CORS origin, the service contract
  published (SC_ENVIRONMENT=test: the authorization matrix reads /openapi.json),
  the harness's own clients exempt from per-address throttles (behind Docker's
  port publishing every client has the bridge's address), alert `for:` and
  Alertmanager timers shortened, Prometheus scraping each instance, PostgreSQL
  without fsync (process kills are the faults here, not power loss).
- Grafana is not started (NOT_STARTED says why).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.errors import ConfigError, Inconclusive
from harness.platform import probes
from harness.platform.certs import CertPaths
from harness.platform.components.edge import TURN_PROBE_USER
from harness.platform.components.monitoring import (
    ALERTMANAGER_CONFIG,
    Prometheus,
    relay_alertmanager_config,
)
from harness.platform.components.services import (
    BACKEND_BUDGET_S,
    BACKENDS,
    BACKUP_INTERVAL_S,
    CHAT_INSTANCES,
    CORS_ALLOWED_ORIGIN,
    GATEWAY_BUDGET_S,
    PUSH_WEBHOOK_CHANNEL,
    service_exists,
)
from harness.platform.compose_cli import render
from harness.platform.docker.compose_spec import container_spec
from harness.platform.docker.images import OFFLINE_IMAGES_FILE, REPO_ROOT, ImageSet
from harness.platform.docker.specs import SECRETS_DIR, ContainerSpec, Healthcheck, Port
from harness.platform.ports import free_port
from harness.platform.runtime import RunContext

COMPOSE_DIR = REPO_ROOT / "compose"
SHIPPED_FILES = ("docker-compose.yml", "docker-compose.monitoring.yml", "docker-compose.chaos.yml")
GENERATE_SECRETS = COMPOSE_DIR / "generate-secrets"
TOXIPROXY_CONFIG = COMPOSE_DIR / "toxiproxy" / "toxiproxy.json"
#: Names the server certificate carries: PostgreSQL directly and through Toxiproxy,
#: the relay stand-in, and the host's view.
CERT_HOSTS = ("postgres", "toxiproxy", "capture", "localhost")
#: Compose services the harness does not start, and why.
NOT_STARTED = {
    "grafana": "no Grafana image is built without a registry; OBS-014 runs every "
    "dashboard panel's query against the live Prometheus instead",
}
SERVICE_PORT = 8080
CAPTURE_HTTP_PORT = 8025
CAPTURE_SMTP_PORT = 2525
#: Container ports published on 127.0.0.1 for the harness; the first is the main one.
HOST_PORTS = {
    "postgres": (5432,),
    "redis": (6379,),
    "s3": (9000,),
    "coturn": (3478,),
    "prometheus": (9090,),
    "alertmanager": (9093,),
    "capture": (CAPTURE_HTTP_PORT, CAPTURE_SMTP_PORT),
    "toxiproxy": (8474,),
}
UDP_COMPONENTS = ("coturn",)
HTTP_COMPONENTS = ("s3", "toxiproxy", "prometheus", "alertmanager", "capture")
#: The capture stand-in's own health check (it is not in the compose files), seconds.
CAPTURE_HEALTH_INTERVAL_S = 10.0
SECRETS_TIMEOUT_S = 60.0
#: The CA the relay stand-in's certificate is signed by, as containers see it.
CA_IN_CONTAINER = f"{SECRETS_DIR}/tls_ca_cert"

HARNESS_OVERLAY = (
    "every component's port published on 127.0.0.1",
    "SMTP relay, incident webhook and pushes: the capture server (STARTTLS, AUTH)",
    "public gateway, S3 and TURN addresses: the host's published ports",
    f"chat at {CHAT_INSTANCES} instances; budgets {BACKEND_BUDGET_S}s/{GATEWAY_BUDGET_S}s; "
    f"backup every {BACKUP_INTERVAL_S}s; CORS origin {CORS_ALLOWED_ORIGIN}",
    "SC_ENVIRONMENT=test (contract at /openapi.json); harness clients not throttled",
    "alert for: and Alertmanager timers shortened; PostgreSQL fsync=off",
    *(f"{name} not started: {why}" for name, why in NOT_STARTED.items()),
)


@dataclass(frozen=True)
class Deployment:
    """The run's containers and the files they are given."""

    run: RunContext
    specs: list[ContainerSpec]
    #: Secret name -> host file, bind-mounted at /run/secrets/<name>.
    secret_files: dict[str, Path]


def shipped_files() -> list[Path]:
    return [COMPOSE_DIR / name for name in SHIPPED_FILES]


def load(run_dir: Path, images: ImageSet, only: Collection[str] | None = None) -> Deployment:
    """Render the shipped files for a run in `run_dir` and make its containers."""
    secrets_dir = run_dir / "compose-secrets"
    generate_secrets(secrets_dir)
    gateway_port = free_port()
    variables = {
        **images.values,
        "SMTP_RELAY_HOST": "capture",
        "SMTP_RELAY_PORT": str(CAPTURE_SMTP_PORT),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{gateway_port}",
    }
    env_file = OFFLINE_IMAGES_FILE if OFFLINE_IMAGES_FILE.is_file() else None
    try:
        rendered = render(shipped_files(), env_file, variables)
    except Inconclusive as exc:
        raise ConfigError(str(exc)) from exc
    if rendered.error:
        raise ConfigError(f"compose config of {rendered.name}: {rendered.error}")
    secret_files = {
        name: secrets_dir / Path(entry["file"]).relative_to(COMPOSE_DIR / "secrets")
        for name, entry in rendered.secrets.items()
    }
    run = RunContext.with_files(
        run_dir,
        CertPaths(
            secret_files["tls_ca_cert"],
            secret_files["tls_server_cert"],
            secret_files["tls_server_key"],
        ),
        secret_files,
    )
    specs = _Builder(run, images, rendered.services, gateway_port).build(only)
    return Deployment(run, specs, secret_files)


def generate_secrets(directory: Path) -> None:
    """compose/generate-secrets into `directory`: what an operator deploys with."""
    command = [str(GENERATE_SECRETS), "--dir", str(directory), "--hosts", ",".join(CERT_HOSTS)]
    if shutil.which("openssl") is None:
        raise ConfigError("compose/generate-secrets needs openssl, which is not installed")
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=SECRETS_TIMEOUT_S, check=False
    )
    if result.returncode != 0:
        raise ConfigError(f"compose/generate-secrets failed: {result.stderr.strip()[-300:]}")


def proxied_ports() -> dict[str, int]:
    """Store -> the port Toxiproxy listens on for it, from the shipped proxy list."""
    proxies = json.loads(TOXIPROXY_CONFIG.read_text())
    return {p["upstream"].split(":")[0]: int(p["listen"].rsplit(":", 1)[1]) for p in proxies}


class _Builder:
    """The specs of one run: the rendered services plus the harness's overlay."""

    def __init__(
        self, run: RunContext, images: ImageSet, services: dict[str, Any], gateway_port: int
    ) -> None:
        self.run = run
        self.images = images
        #: Stores, TURN and Toxiproxy by name, built first: services need their ports.
        self.stores: dict[str, ContainerSpec] = {}
        self.services = services
        self.gateway_port = gateway_port
        self.proxies = proxied_ports()
        self.chats = [f"chat-{i}" for i in range(1, CHAT_INSTANCES + 1)]

    def build(self, only: Collection[str] | None) -> list[ContainerSpec]:
        wanted = self._wanted(only)
        specs = [self._store(name) for name in ("postgres", "redis", "s3", "toxiproxy")]
        specs += [self._capture(), self._store("coturn")]
        specs += [self._alertmanager(), self._prometheus(wanted)]
        if wanted:
            specs.append(self._from_compose("migrations", "migrations", []))
            specs += [self._service(name, module) for name, module in wanted]
            specs.append(self._gateway(wanted))
        _drop_missing_dependencies(specs)
        return specs

    def _wanted(self, only: Collection[str] | None) -> list[tuple[str, str]]:
        """(container name, compose service) of each backend to start."""
        if not service_exists("gateway") or (only is not None and not only):
            return []
        modules = [m for m in BACKENDS if (only is None or m in only) and service_exists(m)]
        return [(n, m) for m in modules for n in (self.chats if m == "chat" else [m])]

    # -- translation -----------------------------------------------------------

    def _from_compose(self, name: str, service: str, ports: list[Port]) -> ContainerSpec:
        spec = container_spec(name, self.services[service], ports)
        deps = [d for d in spec.depends_on if d not in NOT_STARTED]
        spec.depends_on = tuple(c for d in deps for c in (self.chats if d == "chat" else [d]))
        return spec

    def _ports(self, name: str) -> list[Port]:
        protocol = "udp" if name in UDP_COMPONENTS else "tcp"
        kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
        return [Port(port, free_port(kind), protocol) for port in HOST_PORTS[name]]

    # -- stores, TURN and Toxiproxy -------------------------------------------

    def _store(self, name: str) -> ContainerSpec:
        spec = self._from_compose(name, name, self._ports(name))
        spec.http = name in HTTP_COMPONENTS
        spec.proxy_port = self.proxies.get(name)
        if name == "toxiproxy":
            spec.ports += [Port(port, free_port()) for port in self.proxies.values()]
        if name == "postgres":
            spec.command = [*(spec.command or []), "-c", "fsync=off"]
        spec.probe = _store_probe(self.run, spec)
        self.stores[name] = spec
        return spec

    def _capture(self) -> ContainerSpec:
        """The relay and webhook stand-in: STARTTLS and AUTH as the real relay demands."""
        secrets = ("tls_server_cert", "tls_server_key", "smtp_username", "smtp_password")
        at = {name: f"{SECRETS_DIR}/{name}" for name in secrets}
        health = f"http://127.0.0.1:{CAPTURE_HTTP_PORT}/health"
        spec = ContainerSpec(
            name="capture",
            image=self.images.image("capture"),
            entrypoint=["python", "-m", "harness.platform.capture"],
            command=[
                *("--host", "0.0.0.0", "--dir", "/tmp/capture"),
                *("--smtp-port", str(CAPTURE_SMTP_PORT), "--http-port", str(CAPTURE_HTTP_PORT)),
                *("--tls-cert", at["tls_server_cert"], "--tls-key", at["tls_server_key"]),
                *("--login-file", at["smtp_username"], "--password-file", at["smtp_password"]),
            ],
            secrets=secrets,
            tmpfs=("/tmp",),
            ports=self._ports("capture"),
            healthcheck=Healthcheck(
                (
                    "CMD",
                    "python",
                    "-c",
                    f"import urllib.request; urllib.request.urlopen('{health}')",
                ),
                interval_s=CAPTURE_HEALTH_INTERVAL_S,
                start_period_s=20,
            ),
            mem_limit="128m",
            cpus=0.25,
            http=True,
        )
        smtp = spec.ports[1].host
        spec.extra = {"smtp": f"127.0.0.1:{smtp}"}
        spec.probe = lambda: (probes.http_ok(f"{spec.url}/health"), probes.tcp("127.0.0.1", smtp))
        return spec

    # -- monitoring -------------------------------------------------------------

    def _alertmanager(self) -> ContainerSpec:
        spec = self._from_compose("alertmanager", "alertmanager", self._ports("alertmanager"))
        config = self.run.config_path("alertmanager.yml")
        staged = relay_alertmanager_config(
            ALERTMANAGER_CONFIG,
            f"http://capture:{CAPTURE_HTTP_PORT}/webhooks/alertmanager",
            f"capture:{CAPTURE_SMTP_PORT}",
        )
        config.write_text(yaml.safe_dump(staged, sort_keys=False))
        _replace_mount(spec, "/etc/alertmanager/alertmanager.yml", config)
        spec.secrets = (*spec.secrets, "tls_ca_cert")
        spec.env["SSL_CERT_FILE"] = CA_IN_CONTAINER
        spec.depends_on = (*spec.depends_on, "capture")
        return self._monitor(spec)

    def _prometheus(self, wanted: list[tuple[str, str]]) -> ContainerSpec:
        spec = self._from_compose("prometheus", "prometheus", self._ports("prometheus"))
        scraped = [*wanted, ("gateway", "gateway")] if wanted else []
        targets: dict[str, list[str]] = {}
        for name, _module in scraped:
            targets.setdefault(name, []).append(f"{name}:{SERVICE_PORT}")
        config = Prometheus("alertmanager:9093", targets)
        config.host, config.port = "localhost", 9090  # its own target, in the container
        config.prepare(self.run)
        directory = str(config.config.parent)
        # Mounted at the same path: the config names its rule and target files by it.
        spec.mounts = {k: v for k, v in spec.mounts.items() if "/etc/prometheus" not in v}
        spec.mounts[directory] = directory
        spec.command = [
            f"--config.file={config.config}" if arg.startswith("--config.file=") else arg
            for arg in spec.command or []
        ]
        spec.depends_on = (*spec.depends_on, "alertmanager")
        return self._monitor(spec)

    def _monitor(self, spec: ContainerSpec) -> ContainerSpec:
        spec.http = True
        spec.probe = lambda: probes.http_ok(f"{spec.url}/-/ready")
        return spec

    # -- the services -----------------------------------------------------------

    def _service(self, name: str, module: str) -> ContainerSpec:
        spec = self._from_compose(name, module, [Port(SERVICE_PORT, free_port())])
        spec.http = True
        spec.probe = lambda: probes.http_ok(f"{spec.url}/ready")
        chat_urls = ",".join(f"http://{chat}:{SERVICE_PORT}" for chat in self.chats)
        spec.env |= {
            "SC_ENVIRONMENT": "test",
            "SC_REQUEST_TIMEOUT_S": str(BACKEND_BUDGET_S),
            "SSL_CERT_FILE": CA_IN_CONTAINER,
            "SC_S3_PUBLIC_ENDPOINT": f"http://{self._s3_on_host()}",
            "SC_TURN_URLS": f"turn:{self._turn_on_host()}?transport=udp",
        }
        if "SC_CHAT_URLS" in spec.env:
            spec.env["SC_CHAT_URLS"] = chat_urls
        spec.env |= _SERVICE_OVERLAY.get(module, {})
        if module == "chat":
            spec.env["SC_INSTANCE_ID"] = name
            spec.aliases = ("chat",)
        if module in ("auth", "video"):
            spec.depends_on = (*spec.depends_on, "capture")
        return spec

    def _gateway(self, wanted: list[tuple[str, str]]) -> ContainerSpec:
        spec = self._service("gateway", "gateway")
        spec.ports = [Port(SERVICE_PORT, self.gateway_port)]
        spec.env["SC_REQUEST_TIMEOUT_S"] = str(GATEWAY_BUDGET_S)
        started = {module for _name, module in wanted}
        absent = [f"SC_{m.upper()}_URL" for m in BACKENDS if m not in started]
        for variable in absent:
            spec.env.pop(variable, None)
        return spec

    def _s3_on_host(self) -> str:
        listen = self.proxies["s3"]
        port = next(p.host for p in self.stores["toxiproxy"].ports if p.container == listen)
        return f"127.0.0.1:{port}"

    def _turn_on_host(self) -> str:
        return self.stores["coturn"].address


def _drop_missing_dependencies(specs: list[ContainerSpec]) -> None:
    """A stack started without some service: nothing waits for it."""
    names = {spec.name for spec in specs}
    for spec in specs:
        spec.depends_on = tuple(d for d in spec.depends_on if d in names)


_SERVICE_OVERLAY: dict[str, dict[str, str]] = {
    "auth": {"SC_THROTTLE_EXEMPT_NETWORKS": "0.0.0.0/0,::/0"},
    "video": {
        "SC_PUSH_PROVIDER": "webhook",
        "SC_PUSH_WEBHOOK_URL": f"http://capture:{CAPTURE_HTTP_PORT}/webhooks/{PUSH_WEBHOOK_CHANNEL}",
    },
    "gateway": {"SC_CORS_ORIGINS": CORS_ALLOWED_ORIGIN},
    "backup": {"SC_BACKUP_INTERVAL_S": str(BACKUP_INTERVAL_S)},
}


def _replace_mount(spec: ContainerSpec, target: str, source: Path) -> None:
    spec.mounts = {k: v for k, v in spec.mounts.items() if v != target}
    spec.mounts[str(source)] = target


def _store_probe(run: RunContext, spec: ContainerSpec) -> Any:
    """The host-side readiness probe of a store, TURN or Toxiproxy."""
    host, port = "127.0.0.1", spec.ports[0].host
    if spec.name == "postgres":
        password = run.secret("postgres_superuser_password")
        return lambda: probes.postgres_tls(host, port, "postgres", password, run.certs.ca_cert)
    if spec.name == "redis":
        return lambda: probes.redis_ping(host, port, run.secret("redis_password"))
    if spec.name == "s3":
        keys = run.secret("s3_access_key"), run.secret("s3_secret_key")
        return lambda: probes.s3_list_buckets(spec.address, *keys)
    if spec.name == "coturn":
        return lambda: _turn_probe(run, port)
    return lambda: probes.http_ok(f"{spec.url}/version")


def _turn_probe(run: RunContext, port: int) -> None:
    username, password = probes.turn_credentials(
        run.secret("turn_secret"), TURN_PROBE_USER, probes.TURN_PROBE_CREDENTIAL_TTL_S
    )
    probes.turn_allocate("127.0.0.1", port, username, password)
