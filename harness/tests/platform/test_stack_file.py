"""The stack file: what `readiness up` writes is what `--backend attach` reads, a hand-written
one is short, and a bad one is one line naming the field."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.platform.attach import load_stack_file
from harness.platform.stackfile import ComponentInfo, StackInfo, schema_text

DOCS = Path(__file__).resolve().parents[3] / "docs"

HAND_WRITTEN = """
# a staging deployment: only what the operator grants
gateway_url: http://10.0.0.5:8080
toxiproxy_api: http://10.0.0.5:8474
secrets_dir: secrets
ca_certificate: secrets/tls/ca.crt
components:
  gateway: {url: "http://10.0.0.5:8080", container: sc_gateway_1}
  auth: {url: "http://10.0.0.6:8080"}
  chat-2: {url: "http://10.0.0.7:8080", log_file: /var/log/chat-2.log}
  postgres:
    address: 10.0.0.8:5432
    proxy_name: postgres
    proxy_listen: 10.0.0.5:15432
"""


def _write(tmp_path: Path, text: str, name: str = "stack.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_hand_written_file_is_short(tmp_path: Path) -> None:
    info = load_stack_file(_write(tmp_path, HAND_WRITTEN))
    assert info.backend == "external"
    auth = info.components["auth"]
    assert (auth.name, auth.address, auth.pid, auth.container) == (
        "auth",
        "10.0.0.6:8080",
        None,
        None,
    )
    assert info.components["gateway"].container == "sc_gateway_1"
    assert info.components["postgres"].proxy_listen == "10.0.0.5:15432"


def test_relative_paths_are_read_from_the_files_folder(tmp_path: Path) -> None:
    info = load_stack_file(_write(tmp_path, HAND_WRITTEN))
    assert info.secrets_dir == str(tmp_path / "secrets")
    assert info.ca_certificate == str(tmp_path / "secrets/tls/ca.crt")
    assert info.components["chat-2"].log_file == "/var/log/chat-2.log"


def test_what_up_writes_reads_back_the_same(tmp_path: Path) -> None:
    written = StackInfo(
        backend="local",
        run_dir="/tmp/run",
        toxiproxy_api="http://127.0.0.1:8474",
        gateway_url="http://127.0.0.1:43210",
        secrets_dir="/tmp/run/secrets",
        ca_certificate="/tmp/run/certs/ca.crt",
        supervisor_pid=77,
        components={
            "redis": ComponentInfo(
                name="redis",
                address="127.0.0.1:40001",
                pid=12,
                proxy_name="redis",
                proxy_listen="127.0.0.1:40002",
                log_file="/tmp/run/logs/redis.log",
                restarts=2,
            ),
            "capture": ComponentInfo(
                name="capture",
                address="127.0.0.1:40003",
                url="http://127.0.0.1:40003",
                extra={"smtp": "127.0.0.1:40004"},
            ),
        },
    )
    path = tmp_path / "stack.json"
    written.write(path)
    assert json.loads(path.read_text())["format"] == 1
    assert StackInfo.read(path) == written


BAD_FILES = {
    "a typo": ("components: {auth: {url: 'http://h:1', pidd: 3}}", "components.auth.pidd"),
    "a pid that is no number": ("components: {auth: {url: 'http://h:1', pid: x}}",
                                "components.auth.pid"),
    "no address": ("components: {redis: {pid: 3}}", "components.redis.address"),
    "an address without port": ("components: {redis: {address: h}}", "components.redis.address"),
    "an empty address": ("components: {redis: {address: ''}}", "components.redis.address"),
    "a proxy with no toxiproxy_api": (
        "components: {redis: {address: 'h:1', proxy_name: redis, proxy_listen: 'h:2'}}",
        "components.redis.proxy_name",
    ),
    "half a proxy": ("components: {redis: {address: 'h:1', proxy_name: redis}}", "proxy_listen"),
    "a name that is not its key": ("components: {auth: {name: chat, url: 'http://h:1'}}",
                                   "components.auth.name"),
    "an unknown component": ("components: {grafana: {url: 'http://h:1'}}", "components.grafana"),
    "no components": ("gateway_url: http://h:1", "components"),
    "a later format": ("format: 2\ncomponents: {}", "format"),
    "a gateway url that is no url": ("gateway_url: h:1\ncomponents: {}", "gateway_url"),
    "not YAML at all": ("components: {auth: [", "unreadable"),
    "not a mapping": ("- auth", "Input should be"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_file_is_one_line_naming_the_field(tmp_path: Path, case: str) -> None:
    text, field = BAD_FILES[case]
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as refused:
        load_stack_file(path)
    message = str(refused.value)
    assert field in message and str(path) in message, message
    assert len(message.splitlines()) == 1, message


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no stack state"):
        load_stack_file(tmp_path / "none.json")


def test_the_documented_schema_is_the_models() -> None:
    regenerate = (
        ".venv/bin/python -c 'from harness.platform.stackfile import schema_text; "
        'print(schema_text(), end="")\' > docs/stack-file.schema.json'
    )
    assert (DOCS / "stack-file.schema.json").read_text() == schema_text(), regenerate


def _fenced(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def test_the_documented_example_is_a_valid_stack_file_and_every_field_is_explained(
    tmp_path: Path,
) -> None:
    guide = (DOCS / "attach.md").read_text()
    example = _fenced(guide, "yaml")[0]
    info = load_stack_file(_write(tmp_path, example))
    assert info.components["postgres"].proxy_upstream == "postgres:5432"
    assert info.secrets_dir == str(tmp_path / "compose/secrets")
    fields = {*StackInfo.model_fields, *ComponentInfo.model_fields}
    unexplained = sorted(f for f in fields if f"`{f}`" not in guide)
    assert not unexplained, f"docs/attach.md does not explain {unexplained}"
    written = json.loads(_fenced(guide, "json")[0])
    assert StackInfo.model_validate(written).backend == "local"
