"""The chaos overlay's wiring: every data-store edge of a service runs through Toxiproxy.

compose/docker-compose.chaos.yml puts Toxiproxy between the services and PostgreSQL,
Redis and S3 for staging and chaos drills, as the harness's own stack does. A service
the overlay forgets (one added to docker-compose.yml after it was written), or an
address it gets wrong, still reaches the store directly: a drill's cut never touches
that edge, and the drill reports the service as resilient.

Which service uses which store is what the running stack says: the dependencies each
service names in its /ready answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from harness.checks.evidence import EvidenceLog
from harness.checks.library.config_audit import ComposeFile, environment_of
from harness.errors import CheckError

APP_FILE = "docker-compose.yml"
CHAOS_OVERLAY = "docker-compose.chaos.yml"
#: Where a service's environment names each store: host and port variables, or a URL.
STORE_ADDRESS: dict[str, tuple[str, str] | str] = {
    "postgres": ("SC_DB_HOST", "SC_DB_PORT"),
    "redis": ("SC_REDIS_HOST", "SC_REDIS_PORT"),
    "s3": "SC_S3_ENDPOINT",
}
READY_TIMEOUT_S = 5.0
CONFIG_FLAG = "--config="

Address = tuple[str, int]


@dataclass(frozen=True)
class Proxy:
    listen_port: int
    upstream: Address


def _address(text: str) -> Address:
    host, _, port = text.rpartition(":")
    return host, int(port)


def store_users(service_urls: dict[str, str]) -> dict[str, set[str]]:
    """Store → the services (by compose name: chat-1 is chat) that name it in /ready."""
    users: dict[str, set[str]] = {store: set() for store in STORE_ADDRESS}
    for name, url in service_urls.items():
        body = httpx.get(f"{url}/ready", timeout=READY_TIMEOUT_S).json()
        for store in set(body.get("dependencies") or {}) & set(STORE_ADDRESS):
            users[store].add(name.split("-")[0])
    return users


def _store_address(env: dict[str, str], store: str) -> Address | None:
    """Where the environment points the service at `store`; None when it does not say."""
    names = STORE_ADDRESS[store]
    if isinstance(names, str):
        url = urlsplit(env.get(names, ""))
        return (url.hostname, url.port or 80) if url.hostname else None
    host, port = (env.get(name) for name in names)
    return (host, int(port)) if host and port and port.isdigit() else None


def _toxiproxy(overlay: ComposeFile) -> tuple[str, dict[str, Proxy]] | None:
    """The overlay's Toxiproxy service and its proxies by name (none when it mounts no
    configuration); None when the overlay runs no Toxiproxy."""
    for name, service in overlay.services.items():
        if "toxiproxy" not in f"{name} {service.get('image', '')}":
            continue
        flags = [str(a) for a in service.get("command") or [] if str(a).startswith(CONFIG_FLAG)]
        config = overlay.mounted_file(name, flags[0][len(CONFIG_FLAG) :]) if flags else None
        if config is None or not config.is_file():
            return name, {}
        try:
            proxies = json.loads(config.read_text())
            return name, {
                p["name"]: Proxy(_address(p["listen"])[1], _address(p["upstream"])) for p in proxies
            }
        except (ValueError, KeyError, TypeError) as exc:
            raise CheckError(f"{config}: not a Toxiproxy configuration: {exc}") from exc
    return None


def overlay_wiring_defects(
    compose_dir: Path, users: dict[str, set[str]], evidence: EvidenceLog
) -> list[str]:
    """Edges (service → store) that the chaos overlay leaves outside Toxiproxy."""
    base = ComposeFile.load(compose_dir / APP_FILE)
    overlay = ComposeFile.load(compose_dir / CHAOS_OVERLAY)
    toxiproxy = _toxiproxy(overlay)
    if toxiproxy is None:
        return [f"{CHAOS_OVERLAY} runs no Toxiproxy"]
    proxy_host, proxies = toxiproxy
    defects = []
    for store, services in sorted(users.items()):
        for name in sorted(services):
            defect = _edge_defect(base, overlay, name, store, (proxy_host, proxies.get(store)))
            if defect:
                defects.append(defect)
    evidence.note(
        "chaos overlay: edges checked",
        ", ".join(f"{s} → {store}" for store, names in sorted(users.items()) for s in names),
    )
    return defects


def _edge_defect(
    base: ComposeFile,
    overlay: ComposeFile,
    name: str,
    store: str,
    proxy: tuple[str, Proxy | None],
) -> str | None:
    if name not in base.services:
        return None  # not deployed by the compose files: nothing to wire
    direct = _store_address(environment_of(base.services[name]), store)
    merged = environment_of(base.services[name]) | environment_of(overlay.services.get(name, {}))
    used = _store_address(merged, store)
    host, found = proxy
    if found is None:
        return f"no Toxiproxy proxy named {store} in the chaos overlay"
    if direct is not None and found.upstream != direct:
        return f"the {store} proxy forwards to {_show(found.upstream)}, {name} uses {_show(direct)}"
    if used != (host, found.listen_port):
        return (
            f"{name} reaches {store} at {_show(used)} in the chaos overlay, not through "
            f"{_show((host, found.listen_port))}"
        )
    return None


def _show(address: Address | None) -> str:
    return "nothing" if address is None else f"{address[0]}:{address[1]}"
