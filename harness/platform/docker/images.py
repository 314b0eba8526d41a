"""Which image runs each component: registry images by default, local ones from a file.

`compose/offline/build` writes `compose/offline/images.env` (COMPONENT_IMAGE=tag
lines) on a host without a registry; the same file works with
`docker compose --env-file`. Environment variables of the same names override
both, as they do for compose.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ConfigError, StartupError

REPO_ROOT = Path(__file__).resolve().parents[3]
OFFLINE_IMAGES_FILE = REPO_ROOT / "compose" / "offline" / "images.env"
OFFLINE_BUILD = REPO_ROOT / "compose" / "offline" / "build"

#: A cold build of every image (base included) takes 6-10 minutes here; allow three times.
BUILD_TIMEOUT_S = 1800.0

#: The registry image of each component, as compose/docker-compose.yml names it.
REGISTRY_IMAGES = {
    "POSTGRES_IMAGE": "postgres:15-bookworm",
    "REDIS_IMAGE": "redis:7-bookworm",
    "S3_IMAGE": "minio/minio:RELEASE.2024-06-13T22-53-53Z",
    "TOXIPROXY_IMAGE": "ghcr.io/shopify/toxiproxy:2.9.0",
    "PROMETHEUS_IMAGE": "prom/prometheus:v2.53.0",
    "ALERTMANAGER_IMAGE": "prom/alertmanager:v0.27.0",
    "COTURN_IMAGE": "coturn/coturn:4.6",
    "SECURECONNECT_IMAGE": "secureconnect/services:latest",
    # The harness's SMTP/webhook capture server (compose/offline/tools).
    "CAPTURE_IMAGE": "secureconnect/readiness-tools:latest",
}
#: Health checks that differ between the registry image and the local one.
REGISTRY_HEALTHCHECKS = {
    "S3_HEALTHCHECK": "curl -fsS --max-time 2 http://127.0.0.1:9000/minio/health/live",
    "TOXIPROXY_HEALTHCHECK": "/toxiproxy-cli list",
}


def parse_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and # comments ignored, like compose's --env-file."""
    values = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ConfigError(f"{path}:{number}: not KEY=VALUE: {line!r}")
        value = value.strip()
        if len(value) > 1 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


@dataclass(frozen=True)
class ImageSet:
    """The images (and image-specific health checks) of one stack."""

    values: Mapping[str, str]
    source: str

    @classmethod
    def load(cls, path: Path | None = None, environ: Mapping[str, str] | None = None) -> ImageSet:
        """Registry defaults, then the images file (if it exists), then the environment."""
        environ = os.environ if environ is None else environ
        path = path or Path(environ.get("READINESS_IMAGES_FILE", OFFLINE_IMAGES_FILE))
        values = {**REGISTRY_IMAGES, **REGISTRY_HEALTHCHECKS}
        source = "registry defaults"
        if path.is_file():
            values.update(parse_env_file(path))
            source = str(path)
        values.update({k: v for k, v in environ.items() if k in values})
        return cls(values, source)

    def image(self, component: str) -> str:
        return self.values[f"{component.upper()}_IMAGE"]

    def healthcheck(self, component: str) -> str:
        return self.values[f"{component.upper()}_HEALTHCHECK"]


def current_images() -> ImageSet:
    """The images of this tree. On a host that uses offline images (an images file
    exists), compose/offline/build runs first: every image is tagged with a hash of its
    inputs, so only what changed since the last build is built (seconds when nothing
    did), and a run never starts images older than the code it judges."""
    if OFFLINE_IMAGES_FILE.is_file() and "READINESS_IMAGES_FILE" not in os.environ:
        try:
            built = subprocess.run(
                [str(OFFLINE_BUILD)],
                cwd=REPO_ROOT,
                capture_output=True,
                text=True,
                timeout=BUILD_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise StartupError(
                "images", f"compose/offline/build ran over {BUILD_TIMEOUT_S:.0f}s"
            ) from exc
        if built.returncode != 0:
            raise StartupError("images", "compose/offline/build failed", built.stderr[-2000:])
    return ImageSet.load()
