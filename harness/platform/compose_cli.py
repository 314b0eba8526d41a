"""The compose tool this host has, and the configuration it renders.

Docker runs compose files as `compose config` renders them: variables interpolated
(an unset one is a blank: compose only warns), anchors and overlays merged, paths
made absolute. The configuration audit judges that rendering and the container
backend starts it, so both read it here. Either CLI works: `docker compose` (v2)
where the plugin exists, else `docker-compose` (v1); they differ in how they write
some keys (short or long syntax), which the readers of `Rendered` accept both of.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.errors import Inconclusive

COMPOSE_CONFIG_TIMEOUT_S = 60.0
#: v1: `The X variable is not set. Defaulting to a blank string.`; v2 quotes the name.
UNSET_VARIABLE = re.compile(r'The "?([A-Za-z_][A-Za-z0-9_]*)"? variable is not set')
#: What compose needs from the host's environment to find the engine; nothing else.
HOST_VARIABLES = ("PATH", "HOME", "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CONTEXT")


def compose_command() -> list[str] | None:
    """`docker compose` when the plugin is there, else `docker-compose`, else None."""
    docker = shutil.which("docker")
    if docker is not None:
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, text=True, check=False
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy is not None else None


@dataclass(frozen=True)
class Rendered:
    """One stack of compose files after interpolation, and what compose warned about."""

    name: str
    services: dict[str, dict[str, Any]]
    unset: tuple[str, ...]
    error: str
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)


def clean_environment() -> dict[str, str]:
    """What compose needs of this host's environment to reach the engine; nothing else."""
    return {k: os.environ[k] for k in HOST_VARIABLES if k in os.environ}


def render(
    files: list[Path], env_file: Path | None, variables: Mapping[str, str] | None = None
) -> Rendered:
    """`compose [--env-file F] -f FILE... config` on a clean environment (plus
    `variables`, which win over the env file as the shell's do), parsed."""
    command = compose_command()
    if command is None:
        raise Inconclusive(
            "neither `docker compose` nor `docker-compose` is installed: the interpolated "
            "configuration cannot be rendered, so it is not judged"
        )
    options = ["--env-file", str(env_file)] if env_file is not None else []
    options += [option for path in files for option in ("-f", str(path))]
    result = subprocess.run(
        [*command, *options, "config"],
        capture_output=True,
        text=True,
        timeout=COMPOSE_CONFIG_TIMEOUT_S,
        check=False,
        env={**clean_environment(), **(variables or {})},
    )
    name = " + ".join(path.name for path in files)
    unset = tuple(dict.fromkeys(UNSET_VARIABLE.findall(result.stderr)))
    if result.returncode != 0:
        return Rendered(name, {}, unset, result.stderr.strip().splitlines()[-1:][0])
    config = yaml.safe_load(result.stdout) or {}
    return Rendered(name, config.get("services") or {}, unset, "", config.get("secrets") or {})
