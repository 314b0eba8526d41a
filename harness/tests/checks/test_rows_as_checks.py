"""The logic of the per-item observability and security checks, on defective inputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.checks.library import compose_rendered, dashboards, observability, secrets
from harness.checks.library.compose_rendered import Rendered

LOGGING = {"driver": "json-file", "options": {"max-size": "10m", "max-file": "5"}}


def test_unrotated_logging_is_a_defect() -> None:
    assert compose_rendered.rotation_defects("auth", {"logging": LOGGING}) == []
    assert compose_rendered.rotation_defects("auth", {"logging": {"driver": "local"}}) == []
    unbounded = {"driver": "json-file", "options": {"max-file": "5"}}
    assert "without max-size" in compose_rendered.rotation_defects("a", {"logging": unbounded})[0]
    assert "without max-size" in compose_rendered.rotation_defects("a", {})[0]
    zero = {"driver": "json-file", "options": {"max-size": "0", "max-file": "0"}}
    assert len(compose_rendered.rotation_defects("a", {"logging": zero})) == 2


def _stack(services: dict[str, dict[str, Any]], declared: dict[str, dict[str, Any]]) -> Rendered:
    return Rendered("docker-compose.yml", services, (), "", declared)


def test_a_secret_from_a_file_passes() -> None:
    service = {
        "secrets": [{"source": "db_password"}],
        "environment": {"SC_DB_PASSWORD_FILE": "/run/secrets/db_password"},
    }
    stack = _stack({"auth": service}, {"db_password": {"file": "/x/db_password"}})
    assert secrets.source_defects("db_password", [stack]) == []


def test_a_plain_or_unmounted_secret_fails() -> None:
    plain = {"secrets": ["db_password"], "environment": {"SC_DB_PASSWORD": ""}}
    unmounted = {"environment": {"SC_DB_PASSWORD_FILE": "/run/secrets/db_password"}}
    declared = {"db_password": {"file": "/x/db_password"}}
    found = secrets.source_defects("db_password", [_stack({"auth": plain}, declared)])
    assert found == [
        "docker-compose.yml auth: SC_DB_PASSWORD carries db_password as a plain environment value"
    ]
    found = secrets.source_defects("db_password", [_stack({"chat": unmounted}, declared)])
    assert "no service mounts db_password as a Docker secret" in found
    assert any("not mounted" in d for d in found)
    assert secrets.source_defects("db_password", [_stack({}, {})])[0] == (
        "db_password is not a Docker secret of the deployment"
    )


def test_every_secret_the_harness_generates_is_a_deployment_secret() -> None:
    from harness import SECRET_NAMES

    assert set(SECRET_NAMES) <= set(secrets.DEPLOYMENT_SECRETS)


def test_logs_holding_a_value_are_named() -> None:
    logs = {"auth": "started\nurl=postgres://u:s3cret-value@db\n", "chat": "started\n"}
    assert secrets.holders(logs, "s3cret-value") == ["auth"]
    assert secrets.holders(logs, "") == []


def test_a_request_id_missing_from_a_log_is_named() -> None:
    line = json.dumps({"message": "request", "request_id": "abc"})
    logs = {"gateway": f"not json\n{line}\n", "auth": json.dumps({"request_id": "other"})}
    assert observability.untraced("abc", logs) == ["auth"]


def test_dashboard_panels_are_read_from_rows_too(tmp_path: Path) -> None:
    row = {"title": "row", "panels": [{"title": "inner", "targets": [{"expr": "up"}]}]}
    panel = {"title": "rate", "targets": [{"expr": "rate(x[5m])"}, {"refId": "B"}]}
    (tmp_path / "d.json").write_text(json.dumps({"title": "D", "panels": [panel, row]}))
    found = dashboards.panels(tmp_path)
    assert [(p.name, p.expr) for p in found] == [("D / rate", "rate(x[5m])"), ("D / inner", "up")]
