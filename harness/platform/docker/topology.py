"""The stack's containers and the files they are given: what `DockerPlatform.up()` starts."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Collection
from pathlib import Path

from harness.platform.docker import datastores, services
from harness.platform.docker.images import ImageSet
from harness.platform.docker.specs import ContainerSpec
from harness.platform.runtime import RunContext

#: Names the server certificate must carry: clients verify the host they dial.
CERT_HOSTNAMES = ("localhost", "postgres", "toxiproxy")


def default_specs(
    run: RunContext, images: ImageSet, only: Collection[str] | None = None
) -> list[ContainerSpec]:
    """The stack's containers in the local platform's order and with its names."""
    coturn, toxiproxy = datastores.coturn(run, images), datastores.toxiproxy(images)
    stores = [
        datastores.postgres(run, images),
        datastores.redis(run, images),
        datastores.s3(run, images),
        toxiproxy,
        datastores.capture(images),
        coturn,
    ]
    s3_proxy = toxiproxy.port(datastores.PROXY_PORTS["s3"]).host
    public = services.PublicAddresses(coturn.address, f"http://127.0.0.1:{s3_proxy}")
    apps = services.service_specs(run, images, public, only)
    alertmanager = services.alertmanager(run, images)
    return [*stores, alertmanager, services.prometheus(run, images, apps), *apps]


def export_secrets(run: RunContext) -> dict[str, Path]:
    """Copies of the run's secrets and TLS files for bind-mounting at /run/secrets/.

    0644 files, so a container's unprivileged user can read what is mounted into it,
    in a 0700 directory that no other host user can enter."""
    directory = run.run_dir / "docker-secrets"
    directory.mkdir(mode=0o700, exist_ok=True)
    kms = run.run_dir / "secrets" / "minio_kms_key.txt"
    # MinIO's KMS key format: `<key name>:<base64 of 32 random bytes>`.
    kms.write_text("secureconnect-kms:" + base64.b64encode(secrets.token_bytes(32)).decode())
    kms.chmod(0o600)
    run.secret_files["minio_kms_key"] = kms
    sources = dict(run.secret_files)
    sources |= {
        "tls_ca_cert": run.certs.ca_cert,
        "tls_server_cert": run.certs.server_cert,
        "tls_server_key": run.certs.server_key,
    }
    exported = {}
    for name, source in sources.items():
        target = directory / name
        target.write_bytes(source.read_bytes())
        target.chmod(0o644)
        exported[name] = target
    return exported
