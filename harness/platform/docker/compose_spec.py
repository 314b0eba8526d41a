"""One rendered compose service as a ContainerSpec: what `compose up` would run.

Reads the output of `compose config` (harness.platform.compose_cli) in either CLI's
syntax: v1 writes volumes, ports and secrets short (`src:target:ro`), v2 long
(`{type: bind, source, target}`); v1 keeps `mem_limit: 256m`, v2 writes bytes.
Everything Docker enforces is carried over: command, entrypoint, environment, user,
mounts, secrets, tmpfs, health check, restart policy, limits and reservations,
read-only root, dropped capabilities, security options, process limit, shared
memory, logging. Published ports are not: the harness publishes what it reaches on
127.0.0.1 itself (`ports` of the spec).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.platform.docker.specs import ContainerSpec, Healthcheck, Port

#: Label of a compose service that runs to completion (compose/docker-compose.yml).
ONESHOT_LABEL = "com.secureconnect.oneshot"
DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|us|ns|h|m|s)")
UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
#: Docker run options copied as they are: compose key -> docker SDK keyword.
PASSED_THROUGH = {
    "read_only": "read_only",
    "cap_drop": "cap_drop",
    "cap_add": "cap_add",
    "security_opt": "security_opt",
    "pids_limit": "pids_limit",
    "shm_size": "shm_size",
    "mem_reservation": "mem_reservation",
}


def seconds(value: Any) -> float:
    """A compose duration (`10s`, `1m30s`, `500ms`; v2 may write nanoseconds) in seconds."""
    if isinstance(value, int | float):
        return float(value) / 1e9
    parts = DURATION_PART.findall(str(value))
    if not parts or "".join(n + u for n, u in parts) != str(value).strip():
        raise ConfigError(f"not a compose duration: {value!r}")
    return sum(float(number) * UNIT_SECONDS[unit] for number, unit in parts)


def argv(value: Any) -> list[str] | None:
    """A command or entrypoint: a list as is, a string split like a shell would."""
    if value is None:
        return None
    return [str(part) for part in value] if isinstance(value, list) else shlex.split(str(value))


def healthcheck(service: dict[str, Any]) -> Healthcheck | None:
    check = service.get("healthcheck") or {}
    if not check or check.get("disable") or check.get("test") in (["NONE"], "NONE"):
        return None  # v1 writes `disable: true` as test [NONE]
    test = check["test"]
    test = ("CMD-SHELL", test) if isinstance(test, str) else tuple(str(t) for t in test)
    return Healthcheck(
        test,
        interval_s=seconds(check.get("interval", "30s")),
        timeout_s=seconds(check.get("timeout", "30s")),
        retries=int(check.get("retries", 3)),
        start_period_s=seconds(check.get("start_period", "0s")),
    )


def volumes(service: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """(bind mounts: host path -> target, named volumes: name -> target)."""
    binds, named = {}, {}
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            source, target = str(volume.get("source", "")), str(volume["target"])
            is_bind = volume.get("type") == "bind"
        else:
            source, target = str(volume).split(":")[:2]
            is_bind = source.startswith(("/", "."))
        if is_bind:
            binds[source] = target
        else:
            named[source] = target
    return binds, named


def secret_names(service: dict[str, Any]) -> tuple[str, ...]:
    """The secrets mounted at /run/secrets/<name> (a different target is refused)."""
    names = []
    for secret in service.get("secrets") or []:
        if isinstance(secret, dict):
            name = str(secret["source"])
            if secret.get("target", name) != name:
                raise ConfigError(f"secret {name} mounted as {secret['target']}: not supported")
        else:
            name = str(secret)
        names.append(name)
    return tuple(names)


def depends_on(service: dict[str, Any]) -> tuple[str, ...]:
    dependencies = service.get("depends_on") or {}
    return tuple(dependencies if isinstance(dependencies, list) else dependencies.keys())


def docker_options(service: dict[str, Any]) -> dict[str, Any]:
    """The docker SDK's run options for what the service sets beyond the spec's fields."""
    options = {keyword: service[key] for key, keyword in PASSED_THROUGH.items() if key in service}
    logging = service.get("logging") or {}
    if logging.get("driver"):
        options["log_config"] = {"type": logging["driver"], "config": logging.get("options") or {}}
    return options


def container_spec(name: str, service: dict[str, Any], ports: list[Port]) -> ContainerSpec:
    """The container `compose up` would run for `service`, named `name`, reached from
    the host through `ports` (the first is its main port)."""
    binds, named = volumes(service)
    labels = service.get("labels") or {}
    oneshot = str(labels.get(ONESHOT_LABEL, "")).lower() == "true"
    environment = service.get("environment") or {}
    return ContainerSpec(
        name=name,
        image=str(service["image"]),
        command=argv(service.get("command")),
        entrypoint=argv(service.get("entrypoint")),
        env={key: str(value) for key, value in environment.items() if value is not None},
        user=service.get("user"),
        mounts={str(Path(source)): target for source, target in binds.items()},
        secrets=secret_names(service),
        volumes=named,
        tmpfs=tuple(argv(service.get("tmpfs")) or ()),
        ports=ports,
        healthcheck=healthcheck(service),
        mem_limit=str(service.get("mem_limit", "")),
        cpus=float(service.get("cpus", 0) or 0),
        restart=str(service.get("restart", "no")),
        depends_on=depends_on(service),
        oneshot=oneshot,
        labels={str(k): str(v) for k, v in labels.items()},
        docker_options=docker_options(service),
    )
