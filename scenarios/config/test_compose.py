"""Configuration audit: the compose files, read statically, carry none of the seed's defects.

These checks need no running stack: they read docker-compose.yml,
docker-compose.monitoring.yml and the files they mount, in the compose folder
of the `compose_dir` fixture (this checkout's compose/, or
--readiness-compose-dir).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harness import EvidenceLog, check
from harness.checks import (
    alert_routing,
    alert_selectors,
    components,
    compose_rendered,
    config_audit,
    turn_relays,
)

#: Paths inside the compose/ folder under audit (the `compose_dir` fixture).
APP_FILE = "docker-compose.yml"
MONITORING_FILE = "docker-compose.monitoring.yml"
CHAOS_OVERLAY = "docker-compose.chaos.yml"
ALERTMANAGER_CONFIG = "alertmanager/alertmanager.yml"
PROMETHEUS_CONFIG = "prometheus/prometheus.yml"
ALERT_RULES = "prometheus/rules"

Audit = Callable[[config_audit.ComposeFile, EvidenceLog], list[str]]


@pytest.fixture(scope="module")
def app(compose_dir: Path) -> config_audit.ComposeFile:
    return config_audit.ComposeFile.load(compose_dir / APP_FILE)


@pytest.fixture(scope="module")
def monitoring(compose_dir: Path) -> config_audit.ComposeFile:
    return config_audit.ComposeFile.load(compose_dir / MONITORING_FILE)


def _no_defects(audit: Audit, evidence: EvidenceLog, *files: config_audit.ComposeFile) -> None:
    defects = [defect for file in files for defect in audit(file, evidence)]
    assert not defects, "; ".join(defects)


@check(
    "CFG-001",
    "Every service has a health check with a start_period",
    category="config",
    severity="MEDIUM",
    finding="MEDIUM-1..3: MinIO, Prometheus, Alertmanager health checks without start_period",
    fix="Give every service a healthcheck with start_period in compose/.",
    impact="A container still starting is reported unhealthy and restarted in a loop; nothing can "
    "tell starting from broken.",
)
def test_health_checks(
    app: config_audit.ComposeFile, monitoring: config_audit.ComposeFile, evidence: EvidenceLog
) -> None:
    _no_defects(config_audit.healthcheck_defects, evidence, app, monitoring)


@check(
    "CFG-002",
    "Every service restarts by itself (unless-stopped or always)",
    category="config",
    severity="HIGH",
    finding="Container restart stability: restart policies",
    fix="restart: unless-stopped on every long-running service.",
    impact="A crashed container stays down until someone notices: an outage that could heal "
    "itself needs a person at night.",
)
def test_restart_policies(
    app: config_audit.ComposeFile, monitoring: config_audit.ComposeFile, evidence: EvidenceLog
) -> None:
    _no_defects(config_audit.restart_defects, evidence, app, monitoring)


@check(
    "CFG-003",
    "Every container, databases included, has memory and CPU limits",
    category="config",
    severity="HIGH",
    finding="HIGH-7 / MEDIUM-11: databases without memory limits",
    fix="mem_limit and cpus on every service.",
    impact="One container can take all the host's memory or CPU; the OOM killer then picks a "
    "victim, possibly the database.",
)
def test_resource_limits(
    app: config_audit.ComposeFile, monitoring: config_audit.ComposeFile, evidence: EvidenceLog
) -> None:
    _no_defects(config_audit.resource_defects, evidence, app, monitoring)


@check(
    "CFG-004",
    "Secrets come from Docker secret files, never plain environment values",
    category="config",
    severity="HIGH",
    finding="Secrets management: every secret as a Docker secret (*_FILE)",
    fix="Mount the secret and point the *_FILE variable at /run/secrets/<name>.",
    impact="Secrets show in docker inspect, process listings and crash dumps: whoever reads the "
    "host or its logs holds the keys.",
)
def test_secrets_from_files(
    app: config_audit.ComposeFile, monitoring: config_audit.ComposeFile, evidence: EvidenceLog
) -> None:
    _no_defects(config_audit.plain_secret_defects, evidence, app, monitoring)


@check(
    "CFG-005",
    "No flag turns off TLS or authentication (--insecure, sslmode=disable, ssl=off, no-auth)",
    category="config",
    severity="BLOCKER",
    finding="BLOCKER-1: database started with --insecure",
    fix="Remove the flag; configure TLS and credentials instead.",
    impact="Data and credentials cross the network in clear text or unauthenticated: anyone on "
    "the network can read or change them.",
)
def test_no_insecure_flags(
    app: config_audit.ComposeFile, monitoring: config_audit.ComposeFile, evidence: EvidenceLog
) -> None:
    _no_defects(config_audit.insecure_flag_defects, evidence, app, monitoring)


@check(
    "CFG-006",
    "PostgreSQL runs with ssl=on and accepts TLS connections only (hostssl)",
    category="config",
    severity="BLOCKER",
    finding="BLOCKER-1 / Security HIGH-1: database in insecure mode (no TLS)",
    fix="ssl=on with the deployment's certificates; pg_hba: hostssl only, hostnossl reject.",
    impact="Passwords and messages travel to PostgreSQL unencrypted: a network observer reads "
    "every conversation.",
)
def test_database_tls(app: config_audit.ComposeFile, evidence: EvidenceLog) -> None:
    _no_defects(config_audit.database_tls_defects, evidence, app)


@check(
    "CFG-007",
    "The TURN health check authenticates with credentials from the real secret",
    category="config",
    severity="BLOCKER",
    finding="BLOCKER-6 / HIGH-9: TURN health check uses test:test credentials",
    fix="Derive REST credentials from the turn_secret secret (turnutils_uclient -W).",
    impact="TURN health says nothing true about authentication: calls behind NAT fail while the "
    "dashboard shows green.",
)
def test_turn_health_check(app: config_audit.ComposeFile, evidence: EvidenceLog) -> None:
    _no_defects(config_audit.turn_healthcheck_defects, evidence, app)


@check(
    "CFG-015",
    "The TURN health check gives back the relay it allocates (over TCP, the allocation "
    "ends with the connection)",
    category="config",
    severity="HIGH",
    finding="HIGH-1: the TURN health check, read again: a check that holds what it tests",
    fix="Allocate over TCP (turnutils_uclient -t), so coturn frees the allocation when the "
    "check ends; or probe with a STUN Binding, which allocates nothing.",
    impact="Each UDP run holds a relay port for 10 minutes: at a 30 s interval about 20 of "
    "coturn's 41 relay ports are the health check's, and calls get '508 Cannot create "
    "socket' while coturn shows healthy.",
)
def test_turn_health_check_releases_its_relay(
    app: config_audit.ComposeFile, evidence: EvidenceLog
) -> None:
    _no_defects(turn_relays.relay_holding_defects, evidence, app)


@check(
    "CFG-008",
    "The backup scheduler has a health check on /health",
    category="config",
    severity="BLOCKER",
    finding="BLOCKER-5 / HIGH-10: backup scheduler without a health check",
    fix="healthcheck: GET /health of the backup scheduler (503 when backups fail).",
    impact="A dead backup scheduler goes unnoticed until a restore is needed and there is no "
    "recent backup.",
)
def test_backup_health_check(app: config_audit.ComposeFile, evidence: EvidenceLog) -> None:
    _no_defects(config_audit.backup_healthcheck_defects, evidence, app)


@check(
    "CFG-009",
    "The monitoring stack starts without a pre-existing external network",
    category="config",
    severity="MEDIUM",
    finding="MEDIUM-4: monitoring stack uses an external network",
    fix="Declare the network with a fixed name: and without external: true.",
    impact="The monitoring stack fails to start on a fresh host, and the system runs without "
    "alerts.",
)
def test_monitoring_network(monitoring: config_audit.ComposeFile, evidence: EvidenceLog) -> None:
    _no_defects(config_audit.external_network_defects, evidence, monitoring)


@check(
    "CFG-010",
    "Alertmanager e-mails a real address through a real SMTP smarthost",
    category="config",
    severity="HIGH",
    finding="HIGH-5: Alertmanager e-mail configuration not set (placeholders)",
    fix="Set smtp_smarthost, from and to; the SMTP password as smtp_auth_password_file.",
    impact="Alerts are never e-mailed: an outage is discovered by users, not by the team on call.",
)
def test_alert_email(monitoring: config_audit.ComposeFile, evidence: EvidenceLog) -> None:
    _no_defects(config_audit.alert_email_defects, evidence, monitoring)


@check(
    "CFG-011",
    "Objects are encrypted at rest (MinIO KMS key and storage envelope key from secrets)",
    category="config",
    severity="MEDIUM",
    finding="MEDIUM-10: no data encryption at rest",
    fix="MINIO_KMS_AUTO_ENCRYPTION=on with MINIO_KMS_SECRET_KEY_FILE; "
    "SC_STORAGE_ENCRYPTION_KEY_FILE for the storage service.",
    impact="A stolen disk or a leaked bucket exposes every user's files in clear.",
)
def test_encryption_at_rest(app: config_audit.ComposeFile, evidence: EvidenceLog) -> None:
    _no_defects(config_audit.encryption_at_rest_defects, evidence, app)


@check(
    "CFG-012",
    "docker compose config accepts the compose files (and the chaos overlay on its base)",
    category="config",
    severity="HIGH",
    finding="Docker production configuration is ready",
    fix="Fix the file until `docker compose -f FILE config` exits 0.",
    impact="The deployment cannot be started from the shipped files: go-live stops on a "
    "configuration error.",
)
def test_compose_config_validates(compose_dir: Path, evidence: EvidenceLog) -> None:
    if config_audit.compose_command() is None:
        pytest.skip("no docker compose tool on this machine")
    app, monitoring = compose_dir / APP_FILE, compose_dir / MONITORING_FILE
    files: list[Path | list[Path]] = [app, monitoring, [app, compose_dir / CHAOS_OVERLAY]]
    defects = config_audit.compose_config_defects(files, evidence)
    assert not defects, "; ".join(defects)


@check(
    "CFG-013",
    "What Docker will run (the interpolated configuration) sets every variable and "
    "positive memory and CPU limits on every container",
    category="config",
    severity="HIGH",
    finding="HIGH-7 / MEDIUM-11: containers without limits (also when a limit renders to 0)",
    fix="Give every limit a positive value or a positive default (${VAR:-512m}); "
    "set every variable the files use, or give it a default.",
    impact="A limit that renders to 0 or blank deploys an unlimited container: one leak or "
    "burst takes the host's memory from every other service.",
)
def test_rendered_configuration(compose_dir: Path, evidence: EvidenceLog) -> None:
    env_files = components.deployment_env_files(compose_dir)
    evidence.note("environments", ", ".join(str(f or "registry images") for f in env_files))
    stacks = components.shipped_stacks(compose_dir)
    defects = compose_rendered.rendered_defects(stacks, env_files, evidence)
    assert not defects, "; ".join(defects)


@check(
    "CFG-014",
    "Alertmanager's routing tree sends every alert to e-mail and to the incident webhook",
    category="config",
    severity="HIGH",
    finding="HIGH-5: Alertmanager e-mail not configured (alerts that no one is mailed)",
    fix="Route every alert (critical ones included) to a receiver with email_configs and "
    "webhook_configs, or add `continue: true` routes that reach both.",
    impact="An alert that reaches no mailbox or incident hook pages no one: the outage is "
    "found by users.",
)
def test_alert_routing(compose_dir: Path, evidence: EvidenceLog) -> None:
    rules = alert_selectors.alert_rules(compose_dir / ALERT_RULES)
    services = alert_routing.scraped_services(compose_dir / PROMETHEUS_CONFIG)
    evidence.note("services", ", ".join(services))
    routing = compose_dir / ALERTMANAGER_CONFIG
    defects = alert_routing.routing_defects(routing, rules, services, evidence)
    assert rules, f"no alert rule in {compose_dir / ALERT_RULES}"
    assert not defects, "; ".join(defects)
