"""What a stack file grants the harness, and the reason a check is not run when it does not.

A stack the harness did not start is only as breakable as its file allows:

- network faults: `toxiproxy_api`, through the proxies the components name
  (`proxy_name`, `proxy_listen`);
- a component's process (kill, pause, resume, CPU and memory, restarts): its
  `pid` on this host, or its `container` on `docker_host`;
- stopping it on purpose (a stop that stays stopped): its `container` only;
- its log: `log_file`, or its `container`;
- secrets (logging in to the data stores, looking for leaks): `secrets_dir`;
- the CA (verified TLS to PostgreSQL): `ca_certificate`.

Every refusal is a `NotGranted` whose message names the field the file would need,
so the report says *why* a check was not run.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from harness.errors import ComponentError, NotGranted
from harness.platform.stackfile import ComponentInfo, StackInfo


class Control(StrEnum):
    """How the harness reaches a component's process."""

    PID = "pid"
    CONTAINER = "container"


def not_granted(what: str, needs: str) -> NotGranted:
    return NotGranted(f"not granted: {what} needs {needs} in the stack file")


@dataclass(frozen=True)
class Grants:
    """What one stack file lets the harness do."""

    info: StackInfo

    def component(self, name: str) -> ComponentInfo:
        try:
            return self.info.components[name]
        except KeyError:
            known = ", ".join(sorted(self.info.components)) or "none"
            raise ComponentError(f"unknown component {name!r} (stack file: {known})") from None

    def control(self, name: str) -> Control | None:
        """How `name`'s process is reached: a container wins over a pid (it can also be
        stopped and started); None when the file grants neither."""
        component = self.component(name)
        if component.container is not None:
            return Control.CONTAINER
        return Control.PID if component.pid is not None else None

    def require_control(self, name: str, action: str) -> Control:
        control = self.control(name)
        if control is None:
            raise not_granted(
                f"{action} {name}", f"components.{name}.pid or components.{name}.container"
            )
        return control

    def require_stop(self, name: str) -> None:
        """Stopping on purpose: whatever runs a bare pid restarts a process that exits."""
        if self.require_control(name, "stopping") is not Control.CONTAINER:
            raise not_granted(
                f"stopping {name} on purpose",
                f"components.{name}.container (a pid grants kill, pause and resume)",
            )

    def require_toxiproxy(self) -> str:
        if self.info.toxiproxy_api is None:
            raise not_granted("a network fault", "toxiproxy_api")
        return self.info.toxiproxy_api

    def require_secret(self, secret: str) -> Path:
        """The file holding `secret`: `<secrets_dir>/<secret>` or `<secret>.txt`."""
        if self.info.secrets_dir is None:
            raise not_granted(f"the secret {secret}", "secrets_dir")
        folder = Path(self.info.secrets_dir)
        for path in (folder / secret, folder / f"{secret}.txt"):
            if path.is_file():
                return path
        raise not_granted(f"the secret {secret}", f"a file {secret} or {secret}.txt in {folder}")

    def require_ca(self) -> Path:
        if self.info.ca_certificate is None:
            raise not_granted("the CA certificate", "ca_certificate")
        path = Path(self.info.ca_certificate)
        if not path.is_file():
            raise not_granted("the CA certificate", f"a readable ca_certificate ({path})")
        return path

    def require_log(self, name: str) -> Path | None:
        """`name`'s log file, or None when its container's log is the way to read it."""
        component = self.component(name)
        if component.log_file is not None:
            return Path(component.log_file)
        if component.container is not None:
            return None
        raise not_granted(
            f"the log of {name}", f"components.{name}.log_file or components.{name}.container"
        )

    def has_secrets(self, *names: str) -> bool:
        """Whether every one of `names` is granted (a probe uses them when they are)."""
        try:
            for name in names:
                self.require_secret(name)
        except NotGranted:
            return False
        return True
