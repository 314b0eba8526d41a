"""The run directory of one stack: data, configs, logs, secrets and certificates."""

from __future__ import annotations

import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from harness.platform.certs import CertPaths, generate

SECRET_NAMES = (
    "db_password",
    "postgres_superuser_password",
    "redis_password",
    "s3_access_key",
    "s3_secret_key",
    "jwt_secret",
    "turn_secret",
    "storage_encryption_key",
)


@dataclass
class RunContext:
    """Everything components share about one run of the stack."""

    run_dir: Path
    certs: CertPaths
    secret_files: dict[str, Path] = field(default_factory=dict)
    #: Directories outside run_dir that die with the run (see `private_dir`).
    scratch_dirs: list[Path] = field(default_factory=list)

    @classmethod
    def create(cls, run_dir: Path | None = None) -> RunContext:
        """A run directory with fresh secrets and certificates."""
        run_dir = _layout(run_dir)
        context = cls(run_dir=run_dir, certs=generate(run_dir / "certs"))
        for name in SECRET_NAMES:
            path = run_dir / "secrets" / f"{name}.txt"
            path.write_text(secrets.token_urlsafe(24))
            path.chmod(0o600)
            context.secret_files[name] = path
        return context

    @classmethod
    def with_files(
        cls, run_dir: Path | None, certs: CertPaths, secret_files: dict[str, Path]
    ) -> RunContext:
        """A run directory whose secrets and certificates were made elsewhere."""
        return cls(run_dir=_layout(run_dir), certs=certs, secret_files=dict(secret_files))

    def secret(self, name: str) -> str:
        return self.secret_files[name].read_text().strip()

    def log_path(self, component: str) -> Path:
        return self.run_dir / "logs" / f"{component}.log"

    def data_dir(self, component: str) -> Path:
        path = self.run_dir / "data" / component
        path.mkdir(parents=True, exist_ok=True)
        return path

    def config_path(self, filename: str) -> Path:
        return self.run_dir / "config" / filename

    def private_dir(self, component: str) -> Path:
        """A data directory under the system temp dir, for daemons that drop root.

        The run directory may sit below a 0700 parent (pytest's tmp_path does), which
        an unprivileged daemon cannot traverse; /tmp always can be.
        """
        path = Path(tempfile.mkdtemp(prefix=f"readiness-{component}-"))
        path.chmod(0o755)
        self.scratch_dirs.append(path)
        link = self.run_dir / "data" / component
        if not link.exists():
            link.symlink_to(path)
        return path

    def remove(self, include_run_dir: bool) -> None:
        for path in self.scratch_dirs:
            shutil.rmtree(path, ignore_errors=True)
        if include_run_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)


def _layout(run_dir: Path | None) -> Path:
    """The run directory (a new temporary one when None) with its subdirectories."""
    if run_dir is None:
        run_dir = Path(tempfile.mkdtemp(prefix="readiness-"))
    run_dir.mkdir(parents=True, exist_ok=True)
    # Daemons that drop root (postgres) must be able to traverse it.
    run_dir.chmod(0o755)
    for sub in ("logs", "secrets", "data", "config"):
        (run_dir / sub).mkdir(exist_ok=True)
    (run_dir / "secrets").chmod(0o700)
    return run_dir
