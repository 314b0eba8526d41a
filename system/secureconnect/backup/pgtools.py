"""The PostgreSQL client programs: where they are and how they connect.

Connection parameters go through libpq's environment, never the command
line (which `ps` shows): TLS with `sslmode=verify-full` against the
configured CA, the password in PGPASSWORD of the child process only.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from secureconnect.backup.settings import BackupSettings
from secureconnect.common.errors import DomainError

#: Debian keeps the versioned client programs off PATH.
DEBIAN_PG_DIRS = "/usr/lib/postgresql/*/bin"
#: Bytes of a program's stderr quoted in an error.
STDERR_TAIL_BYTES = 2000


def find_program(name: str, bin_dir: Path | None) -> str:
    if bin_dir is not None:
        candidate = bin_dir / name
        if os.access(candidate, os.X_OK):
            return str(candidate)
        raise DomainError(500, "program_not_found", f"{name} not found in {bin_dir}")
    newest_first = sorted(glob.glob(DEBIAN_PG_DIRS), key=_version_of, reverse=True)
    found = shutil.which(name, path=os.pathsep.join(newest_first)) or shutil.which(name)
    if found is None:
        raise DomainError(
            500, "program_not_found", f"{name} not found (set SC_PG_BIN_DIR or install it)"
        )
    return found


def _version_of(directory: str) -> int:
    version = Path(directory).parent.name
    return int(version) if version.isdigit() else 0


def libpq_env(settings: BackupSettings, database: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PG") and not key.startswith("SC_")
    }
    env.update(
        PGHOST=settings.db_host,
        PGPORT=str(settings.db_port),
        PGUSER=settings.db_user,
        PGDATABASE=database,
        PGCONNECT_TIMEOUT=str(max(1, round(settings.db_connect_timeout_s))),
        PGAPPNAME=settings.service_name,
    )
    if settings.db_password is not None:
        env["PGPASSWORD"] = settings.db_password.get_secret_value()
    if settings.db_ssl_ca_file is not None:
        env.update(PGSSLMODE="verify-full", PGSSLROOTCERT=str(settings.db_ssl_ca_file))
    return env


class PgProcess:
    """A client program with stdin or stdout piped and stderr kept for the error."""

    def __init__(self, argv: list[str], env: dict[str, str], *, feeds_stdin: bool) -> None:
        self.name = Path(argv[0]).name
        self._stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.PIPE if feeds_stdin else subprocess.DEVNULL,
            stdout=subprocess.DEVNULL if feeds_stdin else subprocess.PIPE,
            stderr=self._stderr,
        )

    def finish(self, timeout_s: float) -> None:
        """Wait for the exit; raise with the tail of stderr unless it succeeded."""
        try:
            code = self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            raise DomainError(
                504, f"{self.name}_timeout", f"{self.name} did not finish in {timeout_s:g}s"
            ) from None
        if code != 0:
            raise DomainError(
                500, f"{self.name}_failed", f"{self.name} exited with {code}: {self.stderr_tail()}"
            )

    def stderr_tail(self) -> str:
        self._stderr.seek(0, os.SEEK_END)
        self._stderr.seek(max(0, self._stderr.tell() - STDERR_TAIL_BYTES))
        return self._stderr.read().decode(errors="replace").strip()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def close(self) -> None:
        self.kill()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        self._stderr.close()
