"""PostgreSQL (TLS), Redis (password) and s3s-fs (SigV4): the stateful dependencies.

Services reach each of them through a Toxiproxy proxy of the same name.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl

import asyncpg

from harness.platform import probes
from harness.platform.binaries import find
from harness.platform.components.base import LocalComponent
from harness.platform.process import run_once
from harness.platform.runtime import RunContext

POSTGRES_USER = "postgres"
APP_DATABASE = "secureconnect"
APP_ROLE = "secureconnect"


def _chown(path: os.PathLike[str] | str, user: str) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, user, user)


class Postgres(LocalComponent):
    name = "postgres"
    user = POSTGRES_USER
    proxied = True
    startup_deadline_s = 60.0
    #: pg_hba.conf: TCP clients must use TLS; plain TCP is refused outright.
    hba_rules = (
        "local   all all                 trust\n"
        "hostssl all all 127.0.0.1/32    scram-sha-256\n"
        "hostnossl all all 0.0.0.0/0     reject\n"
    )

    def prepare(self, run: RunContext) -> None:
        base = run.private_dir(self.name)
        self.pgdata = base / "pgdata"
        _chown(base, POSTGRES_USER)
        pwfile = base / "pwfile"
        pwfile.write_text(run.secret("postgres_superuser_password"))
        pwfile.chmod(0o600)
        _chown(pwfile, POSTGRES_USER)
        initdb = [
            find("initdb", self.name),
            "-D",
            str(self.pgdata),
            "-U",
            POSTGRES_USER,
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ]
        run_once(self.name, initdb, run.log_path(self.name), user=POSTGRES_USER)
        pwfile.unlink()
        self._install_tls(run)
        self._write_config(base)

    def _install_tls(self, run: RunContext) -> None:
        for source in (run.certs.server_cert, run.certs.server_key, run.certs.ca_cert):
            target = self.pgdata / source.name
            shutil.copyfile(source, target)
            target.chmod(0o600)
            _chown(target, POSTGRES_USER)

    def _write_config(self, base: os.PathLike[str]) -> None:
        settings = {
            "listen_addresses": f"'{self.host}'",
            "port": str(self.port),
            "unix_socket_directories": f"'{base}'",
            "ssl": "on",
            "ssl_cert_file": "'server.crt'",
            "ssl_key_file": "'server.key'",
            "ssl_ca_file": "'ca.crt'",
            "ssl_min_protocol_version": "'TLSv1.2'",
            "max_connections": "200",
            "shared_buffers": "128MB",
            # Process kills are the faults here, not power loss: the page cache survives.
            "fsync": "off",
            "full_page_writes": "off",
            "log_destination": "'stderr'",
            "logging_collector": "off",
            "log_line_prefix": "'%m [%p] %u@%d '",
        }
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write("\n# readiness harness\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        (self.pgdata / "pg_hba.conf").write_text(self.hba_rules)

    def argv(self, run: RunContext) -> list[str]:
        return [find("postgres", self.name), "-D", str(self.pgdata)]

    def probe(self, run: RunContext) -> None:
        probes.postgres_tls(
            self.host,
            self.port,
            POSTGRES_USER,
            run.secret("postgres_superuser_password"),
            run.certs.ca_cert,
        )

    def after_ready(self, run: RunContext) -> None:
        asyncio.run(self._create_app_database(run))

    async def _create_app_database(self, run: RunContext) -> None:
        conn = await asyncpg.connect(
            host=self.host,
            port=self.port,
            user=POSTGRES_USER,
            database="postgres",
            password=run.secret("postgres_superuser_password"),
            ssl=ssl.create_default_context(cafile=str(run.certs.ca_cert)),
        )
        try:
            password = run.secret("db_password").replace("'", "''")
            await conn.execute(f"CREATE ROLE {APP_ROLE} LOGIN PASSWORD '{password}'")
            await conn.execute(f"CREATE DATABASE {APP_DATABASE} OWNER {APP_ROLE}")
        finally:
            await conn.close()


class Redis(LocalComponent):
    name = "redis"
    proxied = True

    def prepare(self, run: RunContext) -> None:
        self.config = run.config_path("redis.conf")
        # The password goes in a 0600 file, not on a command line that `ps` shows.
        self.config.write_text(
            f"port {self.port}\nbind {self.host}\nprotected-mode yes\n"
            f"requirepass {run.secret('redis_password')}\n"
            f'dir {run.data_dir(self.name)}\nsave ""\nappendonly no\n'
            'daemonize no\nlogfile ""\n'
        )
        self.config.chmod(0o600)

    def argv(self, run: RunContext) -> list[str]:
        return [find("redis-server", self.name), str(self.config)]

    def probe(self, run: RunContext) -> None:
        probes.redis_ping(self.host, self.port, run.secret("redis_password"))


class S3(LocalComponent):
    """s3s-fs: an S3 server on a directory, requiring SigV4 signatures."""

    name = "s3"
    proxied = True

    def argv(self, run: RunContext) -> list[str]:
        return [
            find("s3s-fs", self.name),
            "--host",
            self.host,
            "--port",
            str(self.port),
            *self.credential_options(run),
            str(run.data_dir(self.name)),
        ]

    def credential_options(self, run: RunContext) -> list[str]:
        """The keys every request must be signed with."""
        # name=value: a generated secret may begin with "-", like an option
        return [
            f"--access-key={run.secret('s3_access_key')}",
            f"--secret-key={run.secret('s3_secret_key')}",
        ]

    def url(self) -> str:
        return f"http://{self.address}"

    def probe(self, run: RunContext) -> None:
        probes.s3_list_buckets(
            self.address, run.secret("s3_access_key"), run.secret("s3_secret_key")
        )
