"""The configuration Docker will run: compose files as `docker compose config` renders them.

The static audit reads the YAML as written, where `mem_limit: ${DB_MEMORY:-0}` looks
like a limit. Docker runs the interpolated configuration: there an unset variable is
a blank (compose only warns) and that limit is 0, which Docker reads as *unlimited*.
This audit drives the compose tool that exists here (`docker compose` v2 or
`docker-compose` v1) with the environment the deployment uses, compose/README.md:
the images file of compose/offline/build when there is one (`--env-file`), on a
clean environment so a variable that happens to be set on this host hides nothing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from harness.checks.evidence import EvidenceLog
from harness.platform.compose_cli import Rendered, render

MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([bkmgt]?)b?\s*$", re.IGNORECASE)
UNIT_BYTES = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
#: The deployment's compose files, each a stack of its own (compose/README.md).
DEPLOYMENT_FILES = ("docker-compose.yml", "docker-compose.monitoring.yml")
#: Logging drivers that keep a bounded file on the host: json-file with max-size, and
#: local, which rotates by default.
ROTATING_DRIVERS = ("json-file", "local")


def memory_bytes(value: Any) -> float | None:
    """A compose memory size in bytes (`256m`, `1g`, 268435456); None when unreadable."""
    match = MEMORY.match(str(value))
    if match is None:
        return None
    return float(match.group(1)) * UNIT_BYTES[match.group(2).lower()]


def _cpus(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def limits_of(service: dict[str, Any]) -> dict[str, Any]:
    """Every limit the service sets, by where it is set."""
    deploy = ((service.get("deploy") or {}).get("resources") or {}).get("limits") or {}
    found = {"mem_limit": service.get("mem_limit"), "cpus": service.get("cpus")}
    found |= {"deploy memory": deploy.get("memory"), "deploy cpus": deploy.get("cpus")}
    return {where: value for where, value in found.items() if value is not None}


def memory_limit_bytes(service: dict[str, Any]) -> float | None:
    """The service's smallest memory limit in bytes; None when it sets none it can read."""
    found = [memory_bytes(v) for where, v in limits_of(service).items() if "mem" in where]
    readable = [amount for amount in found if amount is not None]
    return min(readable) if readable else None


def limit_defects(name: str, service: dict[str, Any]) -> list[str]:
    """A positive memory and CPU limit; no limit that renders to 0, blank or junk."""
    defects = []
    limits = limits_of(service)
    for where, value in limits.items():
        amount = memory_bytes(value) if "mem" in where else _cpus(value)
        if amount is None or amount <= 0:
            defects.append(f"{name}: {where} renders to {value!r}: Docker runs it unlimited")
    if not any("mem" in where for where in limits):
        defects.append(f"{name}: no memory limit in the rendered configuration")
    if not any("cpus" in where for where in limits):
        defects.append(f"{name}: no CPU limit in the rendered configuration")
    return defects


def rendered_defects(
    stacks: list[list[Path]], env_files: list[Path | None], evidence: EvidenceLog
) -> list[str]:
    """Every stack, with each environment the deployment may use (None: the registry
    images, no --env-file), renders with every variable set and positive limits."""
    defects = []
    for env_file in env_files:
        with_env = f" with {env_file.name}" if env_file is not None else ""
        for files in stacks:
            rendered = render(files, env_file)
            label = rendered.name + with_env
            if rendered.error:
                defects.append(f"{label}: compose refuses it: {rendered.error}")
            for variable in rendered.unset:
                defects.append(f"{label}: variable {variable} is not set (rendered blank)")
            for name, service in rendered.services.items():
                evidence.note(f"{label} {name} rendered limits", str(limits_of(service)))
                defects += [f"{label}: {d}" for d in limit_defects(name, service)]
    return list(dict.fromkeys(defects))


def render_deployment(compose_dir: Path) -> list[Rendered]:
    """Each of the deployment's compose files as Docker will run it (registry images)."""
    return [render([compose_dir / name], None) for name in DEPLOYMENT_FILES]


def rotation_defects(name: str, service: dict[str, Any]) -> list[str]:
    """The container's log is rotated at a positive size: json-file with max-size (and a
    max-file count when given), or the local driver; Docker's default keeps it unbounded."""
    logging = service.get("logging") or {}
    driver = str(logging.get("driver") or "json-file")
    options = logging.get("options") or {}
    if driver not in ROTATING_DRIVERS:
        return [f"{name}: logging driver {driver!r} keeps no bounded file on the host"]
    size, count = options.get("max-size"), options.get("max-file", "1")
    if driver == "json-file" and size is None:
        return [f"{name}: json-file logging without max-size: its log grows without bound"]
    defects = []
    if size is not None and not (memory_bytes(size) or 0) > 0:
        defects.append(f"{name}: logging max-size {size!r} is not a positive size")
    if not str(count).isdigit() or int(count) < 1:
        defects.append(f"{name}: logging max-file {count!r} is not a positive count")
    return defects
