"""Static checks of the compose files: the seed's compose findings, read off the YAML.

Each check returns its defects, one line each naming the service (or file) and
the defect, and records what it looked at as evidence. A service labelled
`com.secureconnect.oneshot: "true"` (migrations) is a step that exits when
done: it needs resource limits like any container, but neither a health check
nor a restart policy that restarts it after success.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.checks.evidence import EvidenceLog
from harness.errors import CheckError
from harness.platform.compose_cli import COMPOSE_CONFIG_TIMEOUT_S, compose_command

ONESHOT_LABEL = "com.secureconnect.oneshot"
RESTART_POLICIES = ("unless-stopped", "always")
#: How a health check's test starts when it is a list: the command follows.
HEALTHCHECK_FORMS = ("CMD", "CMD-SHELL")
SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL|PRIVATE|ACCESS_KEY|API_KEY)")
#: Substrings that turn TLS or authentication off.
INSECURE_FLAGS = ("--insecure", "sslmode=disable", "ssl=off", "no-auth", "protected-mode no")
#: Credentials a TURN health check must never use.
TURN_TEST_CREDENTIALS = re.compile(r"test:test|-u\s+test\b.*-w\s+test\b|-w\s+test\b")
PLACEHOLDER = re.compile(
    r"example\.(com|org|net)|changeme|change-me|your[-_]|placeholder|todo|xxx|<[^>]+>"
    r"|^localhost\b|^127\.0\.0\.1\b",
    re.IGNORECASE,
)


@dataclass
class ComposeFile:
    """One compose file, parsed (YAML anchors and merge keys resolved)."""

    path: Path
    data: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> ComposeFile:
        try:
            data = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise CheckError(f"cannot read compose file {path}: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("services"), dict):
            raise CheckError(f"{path} has no services")
        return cls(path, data)

    @property
    def services(self) -> dict[str, dict[str, Any]]:
        return self.data["services"]

    def mounted_file(self, service: str, container_path: str) -> Path | None:
        """The host file bind-mounted at `container_path` (or inside a mounted dir)."""
        for volume in self.services[service].get("volumes", []):
            if not isinstance(volume, str) or ":" not in volume:
                continue
            source, target = volume.split(":")[:2]
            if not source.startswith((".", "/")):
                continue  # a named volume
            if container_path == target or container_path.startswith(target.rstrip("/") + "/"):
                relative = container_path[len(target) :].lstrip("/")
                return (self.path.parent / source / relative).resolve()
        return None


def is_oneshot(service: dict[str, Any]) -> bool:
    labels = service.get("labels") or {}
    if isinstance(labels, list):
        labels = dict(item.split("=", 1) for item in labels if "=" in item)
    return str(labels.get(ONESHOT_LABEL, "")).lower() == "true"


def _text(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(str(part) for part in value)
    return "" if value is None else str(value)


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    """A compose service's environment as a mapping, whether written as a map or a list."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): _text(v) for k, v in env.items()}


def healthcheck_script_text(compose: ComposeFile, name: str) -> str:
    """The health check command plus the scripts it runs from mounted files."""
    test = healthcheck_test(compose.services[name])
    scripts = []
    for word in test.split():
        mounted = compose.mounted_file(name, word) if word.startswith("/") else None
        if mounted is not None and mounted.is_file():
            lines = mounted.read_text().splitlines()
            scripts += [line for line in lines if not line.lstrip().startswith("#")]
    return "\n".join([test, *scripts])


# -- CFG-001..003: health, restart, resources --------------------------------------


def healthcheck_test(service: dict[str, Any]) -> str:
    """The command of a service's health check, as one line ("" when it has none)."""
    return _text((service.get("healthcheck") or {}).get("test"))


def healthcheck_defect(name: str, service: dict[str, Any]) -> str | None:
    """A long-running service's health check is missing or has no start_period."""
    check = service.get("healthcheck") or {}
    command = healthcheck_test(service).split(maxsplit=1)
    if command and command[0] in HEALTHCHECK_FORMS:
        command = command[1:]  # what runs: a blank one (a variable rendered empty) is none
    if not command or check.get("disable") or command[0] == "NONE":
        return f"{name}: no health check"
    if not check.get("start_period") or str(check["start_period"]).strip() in ("0", "0s"):
        return f"{name}: health check without start_period"
    return None


def restart_defect(name: str, service: dict[str, Any]) -> str | None:
    """A service that does not restart unless stopped (a one-shot step: on failure)."""
    policy = str(service.get("restart", "no"))
    allowed = ("on-failure", *RESTART_POLICIES) if is_oneshot(service) else RESTART_POLICIES
    if policy.split(":")[0] not in allowed:
        return f"{name}: restart policy {policy!r}, want one of {', '.join(allowed)}"
    return None


def healthcheck_defects(compose: ComposeFile, evidence: EvidenceLog) -> list[str]:
    """Every long-running service has a health check with a start_period."""
    defects = []
    for name, service in compose.services.items():
        if is_oneshot(service):
            continue
        evidence.note(
            f"{compose.path.name} {name} healthcheck", healthcheck_test(service) or "none"
        )
        defects.append(healthcheck_defect(name, service))
    return [defect for defect in defects if defect]


def restart_defects(compose: ComposeFile, evidence: EvidenceLog) -> list[str]:
    """Services restart unless stopped (one-shot steps: on failure)."""
    defects = []
    for name, service in compose.services.items():
        evidence.note(f"{compose.path.name} {name} restart", str(service.get("restart", "no")))
        defects.append(restart_defect(name, service))
    return [defect for defect in defects if defect]


def resource_defects(compose: ComposeFile, evidence: EvidenceLog) -> list[str]:
    """Every container, databases included, has a memory and a CPU limit."""
    defects = []
    for name, service in compose.services.items():
        limits = ((service.get("deploy") or {}).get("resources") or {}).get("limits") or {}
        memory = service.get("mem_limit") or limits.get("memory")
        cpus = service.get("cpus") or limits.get("cpus")
        evidence.note(f"{compose.path.name} {name} limits", f"memory={memory} cpus={cpus}")
        if not memory:
            defects.append(f"{name}: no memory limit")
        if not cpus:
            defects.append(f"{name}: no CPU limit")
    return defects


# -- CFG-004..006: secrets, insecure flags, database TLS -----------------------------


def mounted_secrets(service: dict[str, Any]) -> set[str]:
    """The Docker secrets a compose service mounts (short or long syntax)."""
    return {(s if isinstance(s, str) else s.get("source")) for s in service.get("secrets") or []}


def secret_file_defect(name: str, service: dict[str, Any], key: str, value: str) -> str | None:
    """A `*_FILE` setting that points at no Docker secret the service mounts."""
    mounted = mounted_secrets(service)
    secret = value.removeprefix("/run/secrets/")
    if "/" in secret:
        return f"{name}: {key} points at {value}, not at a Docker secret"
    if secret not in mounted:
        return f"{name}: {key} names secret {secret!r}, which is not mounted"
    return None


def plain_secret_defects(compose: ComposeFile, evidence: EvidenceLog) -> list[str]:
    """Secrets come from files (Docker secrets), never as values in the environment."""
    defects = []
    for name, service in compose.services.items():
        for key, value in environment_of(service).items():
            if key.endswith("_FILE"):
                if SECRET_NAME.search(key) or "KEY" in key:
                    defect = secret_file_defect(name, service, key, value)
                    if defect:
                        defects.append(defect)
                continue
            if SECRET_NAME.search(key) and value:
                evidence.note(f"{name} {key}", "plain value in the environment")
                defects.append(f"{name}: secret {key} given as a plain environment value")
    secrets = compose.data.get("secrets") or {}
    for secret, spec in secrets.items():
        if "environment" in (spec or {}):
            defects.append(f"secret {secret} comes from an environment variable, not a file")
    evidence.number(f"{compose.path.name} secrets from files", len(secrets))
    return defects


def insecure_flag_defects(compose: ComposeFile, evidence: EvidenceLog) -> list[str]:
    """No flag that turns off TLS or authentication (--insecure, sslmode=disable...)."""
    defects = []
    for name, service in compose.services.items():
        words = [_text(service.get(k)) for k in ("command", "entrypoint")]
        words += [f"{k}={v}" for k, v in environment_of(service).items()]
        words.append(_text((service.get("healthcheck") or {}).get("test")))
        text = " ".join(words)
        for flag in INSECURE_FLAGS:
            if flag in text:
                evidence.note(f"{name} insecure flag", flag)
                defects.append(f"{name}: insecure flag {flag!r}")
    evidence.note(f"{compose.path.name} flags searched", ", ".join(INSECURE_FLAGS))
    return defects


def _database_services(compose: ComposeFile) -> Iterator[str]:
    for name, service in compose.services.items():
        image = str(service.get("image", ""))
        if any(db in image or db in name for db in ("postgres", "cockroach")):
            yield name


def database_tls_defects(compose: ComposeFile, evidence: EvidenceLog) -> list[str]:
    """PostgreSQL runs with ssl=on and an hba file that accepts hostssl only."""
    defects = []
    databases = list(_database_services(compose))
    if not databases:
        return ["no database service found"]
    for name in databases:
        command = _text(compose.services[name].get("command"))
        if "ssl=on" not in command.replace(" ", ""):
            defects.append(f"{name}: not started with ssl=on")
        match = re.search(r"hba_file=(\S+)", command)
        hba = compose.mounted_file(name, match.group(1)) if match else None
        if hba is None or not hba.is_file():
            defects.append(f"{name}: no pg_hba.conf of ours mounted (hba_file=...)")
            continue
        rules = [ln.split() for ln in hba.read_text().splitlines() if ln.strip()[:1] not in "#"]
        evidence.note(f"{name} pg_hba.conf", hba.read_text())
        for rule in rules:
            if rule and rule[0] in ("host", "hostnossl") and rule[-1] != "reject":
                defects.append(f"{name}: pg_hba accepts non-TLS connections: {' '.join(rule)}")
            if rule and rule[-1] in ("trust", "password"):
                defects.append(f"{name}: pg_hba method {rule[-1]!r}: {' '.join(rule)}")
    return defects


# -- CFG-007..008: the TURN and backup health checks ---------------------------------


def _runs_coturn(service: dict[str, Any]) -> bool:
    """Its image or its command is coturn's (a service merely pointing at TURN is not)."""
    started = [service.get(key, "") for key in ("image", "entrypoint", "command")]
    return any(word in str(started) for word in ("coturn", "turnserver"))


def turn_services(compose: ComposeFile) -> list[str]:
    """The services that run a TURN server."""
    return [n for n, s in compose.services.items() if "turn" in n or _runs_coturn(s)]


def turn_healthcheck_defects(compose: ComposeFile, evidence: EvidenceLog) -> list[str]:
    """The TURN health check authenticates with credentials derived from the secret."""
    turns = turn_services(compose)
    if not turns:
        return ["no TURN service found"]
    defects = []
    for name in turns:
        text = healthcheck_script_text(compose, name)
        evidence.note(f"{name} health check", text)
        if TURN_TEST_CREDENTIALS.search(text):
            defects.append(f"{name}: health check uses test:test credentials")
        if "turn_secret" not in text:
            defects.append(f"{name}: health check does not use the TURN secret")
    return defects


def backup_healthcheck_defects(compose: ComposeFile, evidence: EvidenceLog) -> list[str]:
    """The backup scheduler has a health check on its /health endpoint."""
    backups = [n for n, s in compose.services.items() if "backup" in n or "backup" in str(s)]
    if not backups:
        return ["no backup scheduler service found"]
    defects = []
    for name in backups:
        check = compose.services[name].get("healthcheck") or {}
        test = _text(check.get("test"))
        evidence.note(f"{name} health check", test or "none")
        if not test or check.get("disable"):
            defects.append(f"{name}: backup scheduler without a health check")
        elif "/health" not in test:
            defects.append(f"{name}: backup health check does not ask /health")
    return defects


# -- CFG-009..011: monitoring network, alert e-mail, encryption at rest ---------------


def external_network_defects(compose: ComposeFile, evidence: EvidenceLog) -> list[str]:
    """The file starts on a fresh host: no network has to exist beforehand."""
    defects = []
    for key, spec in (compose.data.get("networks") or {}).items():
        spec = spec or {}
        evidence.note(f"{compose.path.name} network {key}", str(spec))
        if spec.get("external"):
            defects.append(f"network {key}: external, so it must exist before `up`")
    return defects


def _alertmanager_config(compose: ComposeFile) -> tuple[Path | None, dict[str, Any]]:
    for name, service in compose.services.items():
        if "alertmanager" not in name and "alertmanager" not in str(service.get("image")):
            continue
        path = compose.mounted_file(name, "/etc/alertmanager/alertmanager.yml")
        if path is not None and path.is_file():
            return path, yaml.safe_load(path.read_text()) or {}
    return None, {}


def alert_email_defects(compose: ComposeFile, evidence: EvidenceLog) -> list[str]:
    """Alertmanager mails a real address through a real smarthost, password from a file."""
    path, config = _alertmanager_config(compose)
    if path is None:
        return ["no alertmanager.yml mounted at /etc/alertmanager/alertmanager.yml"]
    glob = config.get("global") or {}
    emails = [e for r in config.get("receivers", []) for e in r.get("email_configs") or []]
    if not emails:
        return [f"{path.name}: no receiver sends e-mail"]
    defects = []
    for email in emails:
        fields = {
            "smarthost": email.get("smarthost", glob.get("smtp_smarthost")),
            "to": email.get("to"),
            "from": email.get("from", glob.get("smtp_from")),
        }
        evidence.note(f"{path.name} e-mail", str(fields))
        for field, value in fields.items():
            if not value or PLACEHOLDER.search(str(value)):
                defects.append(f"{path.name}: e-mail {field} is a placeholder: {value!r}")
        if email.get("auth_password") or glob.get("smtp_auth_password"):
            defects.append(f"{path.name}: SMTP password inline; use smtp_auth_password_file")
    return defects


def encryption_at_rest_defects(compose: ComposeFile, evidence: EvidenceLog) -> list[str]:
    """Objects are encrypted at rest: MinIO's KMS and the storage service's envelope key."""
    defects = []
    s3 = [n for n, s in compose.services.items() if "minio" in str(s.get("image")) or n == "s3"]
    for name in s3:
        env = environment_of(compose.services[name])
        evidence.note(f"{name} KMS", str({k: v for k, v in env.items() if "KMS" in k}))
        if env.get("MINIO_KMS_AUTO_ENCRYPTION") != "on":
            defects.append(f"{name}: MINIO_KMS_AUTO_ENCRYPTION is not on")
        if not env.get("MINIO_KMS_SECRET_KEY_FILE"):
            defects.append(f"{name}: no MINIO_KMS_SECRET_KEY_FILE (KMS key from a secret)")
    storage = environment_of(compose.services.get("storage", {}))
    if "storage" in compose.services and not storage.get("SC_STORAGE_ENCRYPTION_KEY_FILE"):
        defects.append("storage: no SC_STORAGE_ENCRYPTION_KEY_FILE (envelope encryption key)")
    if not s3:
        defects.append("no S3 service found")
    return defects


# -- CFG-012: the compose tool accepts the files --------------------------------------


def compose_config_defects(
    files: list[Path | list[Path]], evidence: EvidenceLog, env: dict[str, str] | None = None
) -> list[str]:
    """`docker compose -f FILE [-f OVERLAY...] config` accepts every file (or stack of
    files: an overlay is only valid on top of its base)."""
    command = compose_command()
    if command is None:
        raise CheckError("neither `docker compose` nor `docker-compose` is installed")
    defects = []
    for entry in files:
        stack = entry if isinstance(entry, list) else [entry]
        options = [option for path in stack for option in ("-f", str(path))]
        name = " + ".join(path.name for path in stack)
        result = subprocess.run(
            [*command, *options, "config", "--quiet"],
            capture_output=True,
            text=True,
            timeout=COMPOSE_CONFIG_TIMEOUT_S,
            check=False,
            env=env,
        )
        evidence.note(f"{command[-1]} config {name}", f"exit {result.returncode}")
        if result.returncode != 0:
            defects.append(f"{name}: {result.stderr.strip().splitlines()[-1:]}")
    return defects
