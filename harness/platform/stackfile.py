"""The stack file: where a running stack's components are, and what it lets the harness do.

`readiness up` writes one (`reports/stack.json`) for the stack it started;
an operator writes one by hand for a deployment the harness did not start
(`readiness run --backend attach --stack FILE`, docs/attach.md). Both are the
same format, validated by the models below; `stack_file_schema()` is its JSON
schema (docs/stack-file.schema.json).

What the file says is also what it *grants*: a `toxiproxy_api` grants network
faults through the proxies it names, a component's `pid` or `container` grants
control of its process, `log_file` (or the container) its log, `secrets_dir`
the secrets, `ca_certificate` the CA. A check that needs something the file
does not grant is not run (harness/platform/attach/grants.py).

JSON or YAML (a superset of JSON) by hand; relative paths are read from the
file's own folder. A component's `name` defaults to its key and its `address`
to the host and port of its `url`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from harness.errors import ConfigError

FORMAT: Literal[1] = 1
#: Fields holding a path, resolved against the stack file's folder.
PATH_FIELDS = ("secrets_dir", "ca_certificate")

#: host:port ("" for a component with no port of its own, as a container may have).
Address = Annotated[str, Field(pattern=r"^(\[?[^\s/\]]+\]?:\d{1,5})?$", examples=["10.0.0.5:5432"])]
HttpUrl = Annotated[str, Field(pattern=r"^https?://\S+$", examples=["http://10.0.0.5:8080"])]


class ComponentInfo(BaseModel):
    """How to reach one component, the Toxiproxy proxy in front of it, and what the
    stack grants over it (its process, its log)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    address: Address = Field(description="host:port where the component itself listens")
    url: HttpUrl | None = Field(None, description="its HTTP URL, for components that speak HTTP")
    pid: int | None = Field(
        None, gt=0, description="grants control of its process on this host (signals, /proc)"
    )
    container: str | None = Field(
        None, description="grants control of its container on the stack's docker_host"
    )
    proxy_name: str | None = Field(
        None, description="the Toxiproxy proxy the services reach it through"
    )
    proxy_listen: Address | None = Field(None, description="where that proxy listens")
    proxy_upstream: str | None = Field(
        None,
        description="where the proxy reaches the component, when not at `address` (compose: "
        "postgres:5432 on the deployment's network)",
    )
    log_file: str | None = Field(None, description="grants its log: a file the harness can read")
    restarts: int = Field(0, ge=0, description="how often its supervisor restarted it")
    extra: dict[str, str] = Field(
        default_factory=dict, description="more addresses, e.g. the capture server's smtp"
    )

    @model_validator(mode="before")
    @classmethod
    def _address_from_url(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and not raw.get("address") and raw.get("url"):
            parts = urlsplit(str(raw["url"]))
            if parts.hostname and parts.port:
                return {**raw, "address": f"{parts.hostname}:{parts.port}"}
        return raw

    @model_validator(mode="after")
    def _proxy_complete(self) -> ComponentInfo:
        if (self.proxy_name is None) != (self.proxy_listen is None):
            raise ValueError("proxy_name and proxy_listen go together")
        return self


class StackInfo(BaseModel):
    """A running stack: the contents of a stack file."""

    model_config = ConfigDict(extra="forbid")

    format: Literal[1] = FORMAT
    backend: str = Field(
        "external", description="what started the stack: local, docker, or external"
    )
    components: dict[str, ComponentInfo]
    gateway_url: HttpUrl | None = None
    toxiproxy_api: HttpUrl | None = Field(
        None, description="grants network faults through the proxies the components name"
    )
    docker_host: str | None = Field(
        None,
        description="the Docker engine of the containers named (default: DOCKER_HOST or the "
        "local socket)",
    )
    secrets_dir: str | None = Field(
        None, description="grants the secrets: a folder with one file per secret"
    )
    ca_certificate: str | None = Field(
        None, description="grants the CA certificate that signed the data stores' certificates"
    )
    run_dir: str | None = Field(None, description="the stack's run folder, if the harness's")
    supervisor_pid: int | None = Field(
        None, description="the process that holds a detached stack (readiness up --detach)"
    )
    state: str = "up"

    @model_validator(mode="before")
    @classmethod
    def _names_from_keys(cls, raw: Any) -> Any:
        components = raw.get("components") if isinstance(raw, dict) else None
        if not isinstance(components, dict):
            return raw
        named = {
            key: {"name": key, **value} if isinstance(value, dict) else value
            for key, value in components.items()
        }
        return {**raw, "components": named}

    @model_validator(mode="after")
    def _consistent(self) -> StackInfo:
        for key, component in self.components.items():
            if component.name != key:
                raise ValueError(f"components.{key}.name is {component.name!r}, not its key")
        return self

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.model_dump_json(indent=2) + "\n")
        tmp.replace(path)

    @classmethod
    def read(cls, path: Path) -> StackInfo:
        """The stack file at `path`; a ConfigError names the field that is wrong."""
        try:
            raw = yaml.safe_load(path.read_text())
        except FileNotFoundError as exc:
            raise ConfigError(f"no stack state at {path}: is a stack up?") from exc
        except (OSError, yaml.YAMLError) as exc:
            problem = str(exc).splitlines()[0]
            raise ConfigError(f"stack file {path} is unreadable: {problem}") from exc
        try:
            info = cls.model_validate(raw)
        except ValidationError as exc:
            raise ConfigError(f"stack file {path}: {_first_error(exc)}") from None
        return info.resolved(path.parent)

    def resolved(self, base: Path) -> StackInfo:
        """Relative paths made absolute against `base` (the stack file's folder)."""
        paths = {name: _absolute(getattr(self, name), base) for name in PATH_FIELDS}
        components = {
            key: c.model_copy(update={"log_file": _absolute(c.log_file, base)})
            for key, c in self.components.items()
        }
        return self.model_copy(update={**paths, "components": components})


def _absolute(value: str | None, base: Path) -> str | None:
    return None if value is None else str(base / Path(value).expanduser())


def _first_error(exc: ValidationError) -> str:
    """The first problem, with the dotted path of its field: `components.auth.pid: ...`."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def stack_file_schema() -> dict[str, Any]:
    """The JSON schema of the stack file."""
    schema = StackInfo.model_json_schema()
    schema["title"] = "SecureConnect readiness stack file"
    # As a file is read: a component's name is its key, its address may come from its url.
    component = schema["$defs"]["ComponentInfo"]
    component.pop("required", None)
    component["anyOf"] = [{"required": ["address"]}, {"required": ["url"]}]
    return schema


def schema_text() -> str:
    return json.dumps(stack_file_schema(), indent=2) + "\n"
