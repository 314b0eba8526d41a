"""Each configuration check passes on compose/ and fails, naming the defect, on a copy
with the seed report's defects (harness/tests/checks/seed_compose/)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from harness.checks.evidence import EvidenceLog
from harness.checks.library import compose_rendered, config_audit, turn_relays
from harness.checks.library.config_audit import ComposeFile
from harness.errors import Inconclusive
from harness.platform import compose_cli

REPO = Path(__file__).resolve().parents[3]
APP = REPO / "compose" / "docker-compose.yml"
MONITORING = REPO / "compose" / "docker-compose.monitoring.yml"
SEED = Path(__file__).resolve().parent / "seed_compose"
SEED_APP = SEED / "docker-compose.production.yml"
SEED_MONITORING = SEED / "docker-compose.monitoring.yml"

Audit = Callable[[ComposeFile, EvidenceLog], list[str]]

#: check id, the audit, which file it reads, and what its defects must name on the seed copy.
CASES: list[tuple[str, Audit, str, list[str]]] = [
    ("CFG-001", config_audit.healthcheck_defects, "app", ["minio: health check without start"]),
    ("CFG-001", config_audit.healthcheck_defects, "monitoring", ["prometheus", "alertmanager"]),
    ("CFG-001", config_audit.healthcheck_defects, "app", ["backup-scheduler: no health check"]),
    ("CFG-002", config_audit.restart_defects, "app", ["backup-scheduler: restart policy 'no'"]),
    ("CFG-003", config_audit.resource_defects, "app", ["cockroachdb: no memory limit", "redis"]),
    ("CFG-003", config_audit.resource_defects, "monitoring", ["grafana: no memory limit"]),
    ("CFG-004", config_audit.plain_secret_defects, "app", ["MINIO_ROOT_PASSWORD", "JWT_SECRET"]),
    ("CFG-004", config_audit.plain_secret_defects, "monitoring", ["GF_SECURITY_ADMIN_PASSWORD"]),
    ("CFG-005", config_audit.insecure_flag_defects, "app", ["--insecure", "sslmode=disable"]),
    ("CFG-006", config_audit.database_tls_defects, "app", ["cockroachdb: not started with ssl"]),
    ("CFG-007", config_audit.turn_healthcheck_defects, "app", ["test:test", "TURN secret"]),
    ("CFG-008", config_audit.backup_healthcheck_defects, "app", ["without a health check"]),
    ("CFG-009", config_audit.external_network_defects, "monitoring", ["external"]),
    ("CFG-010", config_audit.alert_email_defects, "monitoring", ["smtp.example.com", "inline"]),
    ("CFG-011", config_audit.encryption_at_rest_defects, "app", ["MINIO_KMS_AUTO_ENCRYPTION"]),
    ("CFG-015", turn_relays.relay_holding_defects, "app", ["turn-server: its health check"]),
]


def _load(which: str, seed: bool) -> ComposeFile:
    if which == "app":
        return ComposeFile.load(SEED_APP if seed else APP)
    return ComposeFile.load(SEED_MONITORING if seed else MONITORING)


@pytest.mark.parametrize(("check_id", "audit", "which", "named"), CASES)
def test_passes_on_production_files(
    check_id: str, audit: Audit, which: str, named: list[str]
) -> None:
    evidence = EvidenceLog()
    assert audit(_load(which, seed=False), evidence) == [], check_id
    assert evidence.items, f"{check_id} recorded no evidence"


@pytest.mark.parametrize(("check_id", "audit", "which", "named"), CASES)
def test_fails_on_the_seed_copy_naming_the_defect(
    check_id: str, audit: Audit, which: str, named: list[str]
) -> None:
    defects = audit(_load(which, seed=True), EvidenceLog())
    text = "; ".join(defects)
    for fragment in named:
        assert fragment in text, f"{check_id}: {fragment!r} not named in {defects}"


def test_turn_check_reads_the_mounted_health_script(tmp_path: Path) -> None:
    """A script that falls back to test:test is caught even though compose only names it."""
    copy = tmp_path / "compose"
    shutil.copytree(REPO / "compose", copy, ignore=shutil.ignore_patterns("secrets", "offline"))
    script = copy / "coturn" / "healthcheck.sh"
    script.write_text("#!/bin/sh\nexec turnutils_uclient -u test -w test 127.0.0.1\n")
    defects = config_audit.turn_healthcheck_defects(
        ComposeFile.load(copy / "docker-compose.yml"), EvidenceLog()
    )
    assert any("test:test" in d for d in defects) and any("secret" in d for d in defects)


def test_database_tls_rejects_a_plain_host_rule(tmp_path: Path) -> None:
    copy = tmp_path / "compose"
    shutil.copytree(REPO / "compose", copy, ignore=shutil.ignore_patterns("secrets", "offline"))
    hba = copy / "postgres" / "pg_hba.conf"
    hba.write_text(hba.read_text() + "host all all 0.0.0.0/0 trust\n")
    defects = config_audit.database_tls_defects(
        ComposeFile.load(copy / "docker-compose.yml"), EvidenceLog()
    )
    assert any("non-TLS" in d for d in defects) and any("'trust'" in d for d in defects)


def test_an_unmounted_secret_file_is_a_defect(tmp_path: Path) -> None:
    data = yaml.safe_load(APP.read_text())
    data["services"]["auth"]["secrets"] = ["db_password"]
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(data))
    defects = config_audit.plain_secret_defects(ComposeFile.load(path), EvidenceLog())
    assert any("auth: SC_JWT_SECRET_FILE names secret 'jwt_secret'" in d for d in defects)


@pytest.mark.skipif(config_audit.compose_command() is None, reason="no docker compose tool")
def test_docker_compose_config_validates() -> None:
    evidence = EvidenceLog()
    chaos = [APP, REPO / "compose" / "docker-compose.chaos.yml"]
    assert config_audit.compose_config_defects([APP, MONITORING, chaos], evidence) == []


@pytest.mark.skipif(config_audit.compose_command() is None, reason="no docker compose tool")
def test_docker_compose_config_rejects_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(APP.read_text().replace("restart: unless-stopped", "restart: [1, 2]", 1))
    assert config_audit.compose_config_defects([broken], EvidenceLog())


# -- CFG-013: the interpolated configuration -------------------------------------------

needs_compose = pytest.mark.skipif(
    config_audit.compose_command() is None, reason="no docker compose tool"
)


def _edited_app(tmp_path: Path, written: str, rendered: str) -> list[Path]:
    """compose/ copied, with one line of docker-compose.yml rewritten."""
    copy = tmp_path / "compose"
    shutil.copytree(REPO / "compose", copy, ignore=shutil.ignore_patterns("secrets", "offline"))
    app = copy / "docker-compose.yml"
    assert written in app.read_text()
    app.write_text(app.read_text().replace(written, rendered, 1))
    return [app]


@needs_compose
def test_rendered_production_files_have_positive_limits() -> None:
    stacks = [[APP], [MONITORING], [APP, REPO / "compose" / "docker-compose.chaos.yml"]]
    evidence = EvidenceLog()
    assert compose_rendered.rendered_defects(stacks, [None], evidence) == []
    assert any("postgres rendered limits" in e.label for e in evidence.items)


@needs_compose
def test_a_limit_that_renders_to_zero_fails_naming_it(tmp_path: Path) -> None:
    """`${X:-0}` reads like a limit; Docker runs it as no limit at all."""
    app = _edited_app(tmp_path, "mem_limit: 1g", "mem_limit: ${POSTGRES_MEMORY:-0}")
    defects = compose_rendered.rendered_defects([app], [None], EvidenceLog())
    assert defects == [
        "docker-compose.yml: postgres: mem_limit renders to '0': Docker runs it unlimited"
    ], defects


@needs_compose
def test_an_unset_variable_fails_naming_it(tmp_path: Path) -> None:
    app = _edited_app(tmp_path, "mem_limit: 512m", "mem_limit: ${S3_MEMORY}")
    defects = compose_rendered.rendered_defects([app], [None], EvidenceLog())
    text = "; ".join(defects)
    assert "variable S3_MEMORY is not set" in text
    assert "s3: mem_limit renders to ''" in text


@needs_compose
def test_an_env_file_that_sets_the_variable_is_used(tmp_path: Path) -> None:
    app = _edited_app(tmp_path, "mem_limit: 512m", "mem_limit: ${S3_MEMORY}")
    env_file = tmp_path / "images.env"
    env_file.write_text("S3_MEMORY=512m\n")
    assert compose_rendered.rendered_defects([app], [env_file], EvidenceLog()) == []


def test_without_a_compose_tool_the_audit_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compose_cli, "compose_command", lambda: None)
    with pytest.raises(Inconclusive, match="not judged"):
        compose_rendered.rendered_defects([[APP]], [None], EvidenceLog())


@pytest.mark.parametrize(
    ("value", "size"), [("256m", 256 * 2**20), ("1g", 2**30), (268435456, 268435456), ("0", 0)]
)
def test_memory_sizes_are_read_in_bytes(value: object, size: int) -> None:
    assert compose_rendered.memory_bytes(value) == size


def test_a_blank_or_junk_limit_is_no_limit() -> None:
    defects = compose_rendered.limit_defects("db", {"mem_limit": "", "cpus": 0.0})
    assert defects == [
        "db: mem_limit renders to '': Docker runs it unlimited",
        "db: cpus renders to 0.0: Docker runs it unlimited",
    ]
    assert compose_rendered.limit_defects("db", {}) == [
        "db: no memory limit in the rendered configuration",
        "db: no CPU limit in the rendered configuration",
    ]
