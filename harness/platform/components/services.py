"""The SecureConnect services as uvicorn processes, wired to the stack.

Each service is `python -m secureconnect.<name> --host H --port P`, configured
only by `SC_*` environment variables; every secret is handed over as a file
(`*_FILE`) and every data store is reached through its Toxiproxy proxy. A
service whose package does not exist yet is simply not part of the stack.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Collection
from dataclasses import dataclass

from harness.platform import probes
from harness.platform.components.base import LocalComponent, SetupStep
from harness.platform.components.datastores import (
    APP_DATABASE,
    APP_ROLE,
    POSTGRES_USER,
    S3,
    Postgres,
    Redis,
)
from harness.platform.components.edge import Capture, Coturn
from harness.platform.process import run_once
from harness.platform.runtime import RunContext

#: Backends in start order; the gateway comes last and routes to those present.
BACKENDS = ("auth", "chat", "video", "storage", "backup")
#: Where the harness's own clients (checks, Locust, the product's tests) connect from:
#: the auth service does not count them per address, as a deployment exempts its own
#: load generators, so a whole run from one address is not throttled as one user.
#: Hostile clients (scenarios/robustness) connect from other loopback addresses and
#: meet the product's per-address throttles as any stranger would.
HARNESS_CLIENT_NETWORKS = ("127.0.0.1/32", "::1/128")
GATEWAY_URL_VARIABLES = {
    "auth": "SC_AUTH_URL",
    "video": "SC_VIDEO_URL",
    "storage": "SC_STORAGE_URL",
}
#: Chat instances behind the gateway: two, so fan-out across instances is exercised.
CHAT_INSTANCES = 2
#: The gateway's whole-request budget in the local stack, seconds.
GATEWAY_BUDGET_S = 5.0
#: A backend's budget: below the gateway's, so a slow backend answers its own 504 first.
BACKEND_BUDGET_S = 4.0
#: The capture server's webhook channel that receives the video service's push notifications.
PUSH_WEBHOOK_CHANNEL = "push"
#: The web origin the stack's gateway allows (SC_CORS_ORIGINS); any other is foreign.
CORS_ALLOWED_ORIGIN = "https://app.secureconnect.test"
#: The backup scheduler's interval in the local stack, seconds: short, so tests see several runs.
BACKUP_INTERVAL_S = 5.0


@dataclass(frozen=True)
class Dependencies:
    """The stack components a service's environment points at."""

    postgres: Postgres
    redis: Redis
    s3: S3
    capture: Capture
    coturn: Coturn


def _split(address: str) -> tuple[str, str]:
    host, port = address.rsplit(":", 1)
    return host, port


def common_environment(run: RunContext, deps: Dependencies) -> dict[str, str]:
    db_host, db_port = _split(deps.postgres.upstream_address())
    redis_host, redis_port = _split(deps.redis.upstream_address())
    smtp_host, smtp_port = _split(deps.capture.smtp_address)
    secret = run.secret_files
    return {
        "SC_ENVIRONMENT": "test",
        "SC_DB_HOST": db_host,
        "SC_DB_PORT": db_port,
        "SC_DB_NAME": APP_DATABASE,
        "SC_DB_USER": APP_ROLE,
        "SC_DB_PASSWORD_FILE": str(secret["db_password"]),
        "SC_DB_SSL_CA_FILE": str(run.certs.ca_cert),
        "SC_REDIS_HOST": redis_host,
        "SC_REDIS_PORT": redis_port,
        "SC_REDIS_PASSWORD_FILE": str(secret["redis_password"]),
        "SC_JWT_SECRET_FILE": str(secret["jwt_secret"]),
        "SC_SMTP_HOST": smtp_host,
        "SC_SMTP_PORT": smtp_port,
        "SC_SMTP_FROM": "no-reply@secureconnect.local",
        "SC_S3_ENDPOINT": f"http://{deps.s3.upstream_address()}",
        "SC_S3_ACCESS_KEY_FILE": str(secret["s3_access_key"]),
        "SC_S3_SECRET_KEY_FILE": str(secret["s3_secret_key"]),
        "SC_STORAGE_ENCRYPTION_KEY_FILE": str(secret["storage_encryption_key"]),
        "SC_TURN_URLS": f"turn:{deps.coturn.address}?transport=udp",
        "SC_TURN_SECRET_FILE": str(secret["turn_secret"]),
    }


def service_environment(module: str, run: RunContext) -> dict[str, str]:
    """What one service needs beyond the common environment."""
    if module == "backup":
        # pg_dump must read every row; forced row-level security binds the app role.
        return {
            "SC_DB_USER": POSTGRES_USER,
            "SC_DB_PASSWORD_FILE": str(run.secret_files["postgres_superuser_password"]),
            "SC_BACKUP_INTERVAL_S": str(BACKUP_INTERVAL_S),
        }
    if module == "video":
        return {"SC_RECORDING_DIR": str(run.data_dir("video") / "recordings")}
    if module == "auth":
        return {"SC_THROTTLE_EXEMPT_NETWORKS": ",".join(HARNESS_CLIENT_NETWORKS)}
    return {}


def video_environment(deps: Dependencies, chat_urls: list[str]) -> dict[str, str]:
    """Call events over HTTP to chat while Redis is away; incoming-call pushes to the
    capture server's webhook channel PUSH_WEBHOOK_CHANNEL, where tests read them."""
    return {
        "SC_CHAT_URLS": ",".join(chat_urls),
        "SC_PUSH_PROVIDER": "webhook",
        "SC_PUSH_WEBHOOK_URL": f"{deps.capture.url()}/webhooks/{PUSH_WEBHOOK_CHANNEL}",
    }


class Service(LocalComponent):
    """One SecureConnect service process."""

    depends_on = ("postgres", "redis", "s3", "toxiproxy", "capture", "coturn")
    startup_deadline_s = 45.0

    def __init__(
        self,
        name: str,
        deps: Dependencies,
        extra_env: dict[str, str] | None = None,
        module: str | None = None,
    ) -> None:
        self.name = name
        super().__init__()
        self.deps = deps
        self.extra_env = extra_env or {}
        self.module = module or name

    def argv(self, run: RunContext) -> list[str]:
        return [
            sys.executable,
            "-m",
            f"secureconnect.{self.module}",
            "--host",
            self.host,
            "--port",
            str(self.port),
        ]

    def env(self, run: RunContext) -> dict[str, str]:
        return {
            **common_environment(run, self.deps),
            "SC_SERVICE_NAME": self.name,
            "SC_REQUEST_TIMEOUT_S": str(BACKEND_BUDGET_S),
            **service_environment(self.module, run),
            **self.extra_env,
        }

    def url(self) -> str:
        return f"http://{self.address}"

    def probe(self, run: RunContext) -> None:
        probes.http_ok(f"{self.url()}/ready")


class Migrations(SetupStep):
    """Applies the Alembic migrations after PostgreSQL is up, before any service starts."""

    name = "migrations"
    depends_on = ("postgres", "toxiproxy")

    def __init__(self, deps: Dependencies) -> None:
        super().__init__()
        self.deps = deps
        self.extra_env: dict[str, str] = {}

    def prepare(self, run: RunContext) -> None:
        env = {**common_environment(run, self.deps), "SC_SERVICE_NAME": self.name}
        env |= self.extra_env
        argv = [sys.executable, "-m", "secureconnect.migrations", "upgrade"]
        run_once(self.name, argv, run.log_path(self.name), env=env)


def service_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(f"secureconnect.{name}.__main__") is not None
    except ModuleNotFoundError:  # the service's package itself does not exist yet
        return False


def service_instances(name: str, deps: Dependencies, chat_instances: int) -> list[Service]:
    """One component per service; chat runs as `chat_instances` of them (chat-1, chat-2...),
    one service (metrics label "chat") with an instance id each."""
    if name != "chat":
        return [Service(name, deps)]
    return [
        Service(
            f"chat-{index}",
            deps,
            {"SC_SERVICE_NAME": "chat", "SC_INSTANCE_ID": f"chat-{index}"},
            module="chat",
        )
        for index in range(1, chat_instances + 1)
    ]


def service_components(
    deps: Dependencies,
    only: Collection[str] | None = None,
    chat_instances: int = CHAT_INSTANCES,
) -> list[LocalComponent]:
    """Migrations, the backends (those in `only`, or all that exist), then the gateway."""
    if not service_exists("gateway") or (only is not None and not only):
        return []
    wanted = [n for n in BACKENDS if only is None or n in only]
    backends = [
        instance
        for name in wanted
        if service_exists(name)
        for instance in service_instances(name, deps, chat_instances)
    ]
    for backend in backends:
        backend.depends_on = (*Service.depends_on, "migrations")
    gateway_env = {
        "SC_REQUEST_TIMEOUT_S": str(GATEWAY_BUDGET_S),
        "SC_CORS_ORIGINS": CORS_ALLOWED_ORIGIN,
    }
    for backend in backends:
        if backend.name in GATEWAY_URL_VARIABLES:
            gateway_env[GATEWAY_URL_VARIABLES[backend.name]] = backend.url()
    chats = [b.url() for b in backends if b.name.startswith("chat")]
    if chats:
        gateway_env["SC_CHAT_URLS"] = ",".join(chats)
    gateway = Service("gateway", deps, gateway_env)
    gateway.depends_on = (*Service.depends_on, *(b.name for b in backends))
    for backend in backends:  # links in mails and download URLs point at the gateway
        backend.extra_env.setdefault("SC_PUBLIC_BASE_URL", gateway.url())
        if backend.module == "video":
            backend.extra_env = {**video_environment(deps, chats), **backend.extra_env}
        if backend.module == "auth":  # revoked sessions' sockets closed while Redis is away
            backend.extra_env = {"SC_CHAT_URLS": ",".join(chats), **backend.extra_env}
    return [Migrations(deps), *backends, gateway]
