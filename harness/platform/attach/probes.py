"""Health probes of an attached stack's components, as strong as the stack file allows.

A component is known by its name (its kind: `chat-2` is a chat). HTTP
components answer their readiness path, as the harness's own stacks are
probed. A data store or the TURN server is probed as the local stack probes
it (a verified TLS login, an authenticated PING, a signed request, a real
TURN allocation) when the file grants the secrets (and the CA) that takes;
otherwise only that it answers (a TCP connect; a STUN Binding for TURN).
"""

from __future__ import annotations

from collections.abc import Callable

from harness.errors import NotGranted
from harness.platform import probes
from harness.platform.attach.grants import Grants
from harness.platform.base import SERVICE_NAMES
from harness.platform.components.datastores import POSTGRES_USER
from harness.platform.components.edge import TURN_PROBE_USER
from harness.platform.stackfile import ComponentInfo

#: The readiness path of each HTTP component that is not a SecureConnect service.
HTTP_READY = {
    "toxiproxy": "/version",
    "prometheus": "/-/ready",
    "alertmanager": "/-/ready",
    "capture": "/health",
}
SERVICE_READY = "/ready"
DATA_STORES = ("postgres", "redis", "s3", "coturn")
#: Every kind of component a stack file may name.
KINDS = (*SERVICE_NAMES, *HTTP_READY, *DATA_STORES)

Probe = Callable[[Grants, ComponentInfo], None]


def kind_of(name: str) -> str:
    """`chat-2` → `chat`; a name that is not a numbered instance is its own kind."""
    base, _, number = name.rpartition("-")
    return base if base and number.isdigit() else name


def _host_port(address: str) -> tuple[str, int]:
    host, port = address.rsplit(":", 1)
    return host.strip("[]"), int(port)


def _http(grants: Grants, component: ComponentInfo) -> None:
    kind = kind_of(component.name)
    path = SERVICE_READY if kind in SERVICE_NAMES else HTTP_READY[kind]
    url = component.url or f"http://{component.address}"
    probes.http_ok(f"{url}{path}")
    smtp = component.extra.get("smtp")
    if smtp is not None:
        probes.tcp(*_host_port(smtp))


def _secrets(grants: Grants, *names: str) -> list[str] | None:
    """The secrets' values, or None when the file does not grant every one of them."""
    try:
        return [grants.require_secret(name).read_text().strip() for name in names]
    except NotGranted:
        return None


def _postgres(grants: Grants, component: ComponentInfo) -> None:
    host, port = _host_port(component.address)
    secret = _secrets(grants, "postgres_superuser_password")
    try:
        ca = grants.require_ca()
    except NotGranted:
        secret = None
    if secret is None:
        probes.tcp(host, port)
        return
    probes.postgres_tls(host, port, POSTGRES_USER, secret[0], ca)


def _redis(grants: Grants, component: ComponentInfo) -> None:
    secret = _secrets(grants, "redis_password")
    if secret is None:
        probes.tcp(*_host_port(component.address))
        return
    probes.redis_ping(*_host_port(component.address), secret[0])


def _s3(grants: Grants, component: ComponentInfo) -> None:
    keys = _secrets(grants, "s3_access_key", "s3_secret_key")
    if keys is None:
        probes.tcp(*_host_port(component.address))
        return
    probes.s3_list_buckets(component.address, *keys)


def _coturn(grants: Grants, component: ComponentInfo) -> None:
    secret = _secrets(grants, "turn_secret")
    host, port = _host_port(component.address)
    if secret is None:
        probes.stun_binding(host, port)
        return
    username, password = probes.turn_credentials(
        secret[0], TURN_PROBE_USER, probes.TURN_PROBE_CREDENTIAL_TTL_S
    )
    probes.turn_allocate(host, port, username, password)


PROBES: dict[str, Probe] = {"postgres": _postgres, "redis": _redis, "s3": _s3, "coturn": _coturn}


def probe(grants: Grants, component: ComponentInfo) -> None:
    """Raise, with the reason, unless `component` is healthy."""
    PROBES.get(kind_of(component.name), _http)(grants, component)
