"""What the shipped compose files declare, per component: the seed's inventory tables.

The seed audit lists, for every container, its health check, restart policy,
start period, ports, dependencies, limits, and every secret with how it
reaches the process. This reads the same off `compose/docker-compose.yml` and
`docker-compose.monitoring.yml` (the production deployment; the chaos overlay
is for drills) when a run is published, so the report shows the files as they
were when the run judged them. It describes; the configuration audit (CFG-*)
judges.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.checks.library.config_audit import SECRET_NAME, ComposeFile, is_oneshot
from harness.errors import CheckError

COMPOSE_DIR = Path(__file__).resolve().parents[2] / "compose"
PRODUCTION_FILES = ("docker-compose.yml", "docker-compose.monitoring.yml")
SECRETS_MOUNT = "/run/secrets/"
URL = re.compile(r"https?://[^\s'\"),}]+")
SHOWN_COMMAND_CHARS = 70


@dataclass
class ComposeService:
    name: str
    file: str
    image: str = ""
    #: The health check, shortened: the URL it asks, else its command.
    healthcheck: str = ""
    interval: str = ""
    start_period: str = ""
    restart: str = ""
    ports: list[str] = field(default_factory=list)
    #: "redis (healthy)", "migrations (completed)"...
    depends_on: list[str] = field(default_factory=list)
    memory_limit: str = ""
    cpu_limit: str = ""
    pids_limit: str = ""
    secrets: list[str] = field(default_factory=list)
    oneshot: bool = False


@dataclass
class ComposeSecret:
    name: str
    source: str
    used_by: list[str] = field(default_factory=list)
    #: How each service gets it: "SC_DB_PASSWORD_FILE (auth, chat)", or a plain value.
    passed_as: list[str] = field(default_factory=list)


@dataclass
class ComposeInventory:
    files: list[str] = field(default_factory=list)
    services: list[ComposeService] = field(default_factory=list)
    secrets: list[ComposeSecret] = field(default_factory=list)
    #: Why the files could not be read, when they could not.
    problem: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> ComposeInventory:
        if not raw:
            return cls(problem="not recorded by this run")
        return cls(
            files=list(raw.get("files", [])),
            services=[ComposeService(**s) for s in raw.get("services", [])],
            secrets=[ComposeSecret(**s) for s in raw.get("secrets", [])],
            problem=str(raw.get("problem", "")),
        )


def _words(value: Any) -> str:
    return " ".join(str(v) for v in value) if isinstance(value, list) else str(value or "")


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(entry.partition("=")[::2] for entry in env)
    return {str(key): _words(value) for key, value in env.items()}


def _healthcheck(service: dict[str, Any]) -> tuple[str, str, str]:
    """(what it tests, interval, start period); a disabled one tests nothing."""
    check = service.get("healthcheck") or {}
    test = _words(check.get("test")).removeprefix("CMD-SHELL ").removeprefix("CMD ")
    if check.get("disable") or test.strip() in ("", "NONE"):
        return "", "", ""
    url = URL.search(test)
    shown = f"GET {url.group(0)}" if url else test
    if len(shown) > SHOWN_COMMAND_CHARS:
        shown = shown[: SHOWN_COMMAND_CHARS - 1] + "…"
    return shown, str(check.get("interval", "")), str(check.get("start_period", ""))


def _depends_on(service: dict[str, Any]) -> list[str]:
    raw = service.get("depends_on") or []
    if isinstance(raw, list):
        return [str(name) for name in raw]
    conditions = {"service_healthy": "healthy", "service_completed_successfully": "completed"}
    return [
        f"{name} ({conditions.get((spec or {}).get('condition', ''), 'started')})"
        for name, spec in raw.items()
    ]


def _service(name: str, spec: dict[str, Any], file: str) -> ComposeService:
    limits = ((spec.get("deploy") or {}).get("resources") or {}).get("limits") or {}
    test, interval, start_period = _healthcheck(spec)
    return ComposeService(
        name=name,
        file=file,
        image=str(spec.get("image", "")),
        healthcheck=test,
        interval=interval,
        start_period=start_period,
        restart=str(spec.get("restart", "")),
        ports=[str(p) for p in spec.get("ports") or []],
        depends_on=_depends_on(spec),
        memory_limit=str(spec.get("mem_limit") or limits.get("memory") or ""),
        cpu_limit=str(spec.get("cpus") or limits.get("cpus") or ""),
        pids_limit=str(spec.get("pids_limit") or limits.get("pids") or ""),
        secrets=[
            s if isinstance(s, str) else str(s.get("source")) for s in spec.get("secrets", [])
        ],
        oneshot=is_oneshot(spec),
    )


def _how_passed(secret: str, service: dict[str, Any]) -> list[str]:
    """The settings that point the process at the secret's file (or its name)."""
    return [
        key
        for key, value in _environment(service).items()
        if key.endswith("_FILE") and value in (secret, f"{SECRETS_MOUNT}{secret}")
    ]


def _secrets(compose: ComposeFile) -> list[ComposeSecret]:
    found = []
    for secret, spec in (compose.data.get("secrets") or {}).items():
        entry = ComposeSecret(secret, str((spec or {}).get("file", "an environment variable")))
        ways: dict[str, list[str]] = {}
        for name, service in compose.services.items():
            if secret in _service(name, service, "").secrets:
                entry.used_by.append(name)
                for way in _how_passed(secret, service) or [f"file {SECRETS_MOUNT}{secret}"]:
                    ways.setdefault(way, []).append(name)
        entry.passed_as = [f"{way} ({', '.join(names)})" for way, names in ways.items()]
        found.append(entry)
    return found


def _plain_values(compose: ComposeFile) -> list[ComposeSecret]:
    """Secrets given as plain environment values: listed, so the table shows them."""
    plain = []
    for name, service in compose.services.items():
        for key, value in _environment(service).items():
            if SECRET_NAME.search(key) and not key.endswith("_FILE") and value:
                plain.append(ComposeSecret(key, "plain environment value", [name], [key]))
    return plain


def _merged(secrets: list[ComposeSecret]) -> list[ComposeSecret]:
    """One row per secret, also when both files declare it (smtp_password)."""
    rows: dict[tuple[str, str], ComposeSecret] = {}
    for secret in secrets:
        row = rows.setdefault(
            (secret.name, secret.source), ComposeSecret(secret.name, secret.source)
        )
        row.used_by += [s for s in secret.used_by if s not in row.used_by]
        row.passed_as += [p for p in secret.passed_as if p not in row.passed_as]
    return list(rows.values())


def read_compose(directory: Path = COMPOSE_DIR) -> ComposeInventory:
    """The inventory of the production compose files in `directory`."""
    inventory = ComposeInventory()
    for file in PRODUCTION_FILES:
        path = directory / file
        if not path.is_file():
            continue
        try:
            compose = ComposeFile.load(path)
        except CheckError as exc:
            inventory.problem = str(exc)
            continue
        inventory.files.append(file)
        inventory.services += [_service(n, s, file) for n, s in compose.services.items()]
        inventory.secrets += _secrets(compose) + _plain_values(compose)
    inventory.secrets = _merged(inventory.secrets)
    if not inventory.files and not inventory.problem:
        inventory.problem = f"no compose file in {directory}"
    return inventory
