"""The containers the compose backend would start, checked without starting them.

They are read from the shipped compose files (`compose config`), so these tests
need a compose CLI, not an engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from harness.platform.compose_cli import compose_command, render
from harness.platform.docker import deployment
from harness.platform.docker.compose_spec import container_spec, seconds
from harness.platform.docker.images import ImageSet
from harness.platform.docker.specs import ContainerSpec, Healthcheck
from harness.platform.docker.toxiproxy import HostViewToxiproxy
from harness.platform.local import default_components
from harness.toxiproxy.client import ProxyInfo

pytestmark = pytest.mark.skipif(compose_command() is None, reason="no compose CLI installed")


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[deployment.Deployment]:
    images = ImageSet.load(Path("/nonexistent"), environ={})
    loaded = deployment.load(tmp_path_factory.mktemp("specs"), images)
    yield loaded
    loaded.run.remove(include_run_dir=True)


@pytest.fixture(scope="module")
def specs(shipped: deployment.Deployment) -> dict[str, ContainerSpec]:
    return {spec.name: spec for spec in shipped.specs}


@pytest.fixture(scope="module")
def compose_services() -> dict[str, dict[str, object]]:
    return render(deployment.shipped_files(), None).services


def test_the_local_platform_components_and_the_migrations_step(
    specs: dict[str, ContainerSpec],
) -> None:
    local = {c.name for c in default_components()}
    assert set(specs) == local | {"migrations"}
    assert specs["migrations"].oneshot


def test_every_setting_docker_enforces_is_the_shipped_one(
    specs: dict[str, ContainerSpec], compose_services: dict[str, dict[str, object]]
) -> None:
    for name, spec in specs.items():
        service = compose_services.get(name.split("-")[0] if "chat" in name else name)
        if service is None:  # the capture server: the relay's stand-in
            continue
        assert spec.mem_limit == str(service["mem_limit"]), name
        assert spec.cpus == float(service["cpus"]), name  # type: ignore[arg-type]
        assert spec.restart == service["restart"], name
        assert spec.docker_options.get("read_only") == service.get("read_only"), name
        assert spec.docker_options.get("pids_limit") == service.get("pids_limit"), name
        assert spec.docker_options.get("cap_drop") == service.get("cap_drop"), name
        check = service.get("healthcheck") or {}
        if "start_period" in check:  # type: ignore[operator]
            assert spec.healthcheck is not None, name
            assert list(spec.healthcheck.test) == check["test"], name  # type: ignore[index]
            assert spec.healthcheck.start_period_s == seconds(check["start_period"]), name  # type: ignore[index]
            interval = seconds(check.get("interval", "30s"))  # type: ignore[attr-defined]
            assert spec.healthcheck.interval_s == interval, name


def test_stores_run_as_compose_deploys_them(specs: dict[str, ContainerSpec]) -> None:
    postgres = " ".join(specs["postgres"].command or [])
    assert "ssl=on" in postgres and "hba_file=/etc/secureconnect/pg_hba.conf" in postgres
    assert "/etc/secureconnect/pg_hba.conf" in specs["postgres"].mounts.values()
    assert specs["redis"].user == "redis"
    assert "coturn-healthcheck.sh" in " ".join(specs["coturn"].healthcheck.test)  # type: ignore[union-attr]
    assert specs["s3"].env["MINIO_KMS_AUTO_ENCRYPTION"] == "on"


def test_services_reach_the_stores_through_toxiproxy_and_secrets_as_files(
    specs: dict[str, ContainerSpec],
) -> None:
    auth = specs["auth"]
    assert auth.env["SC_DB_HOST"] == "toxiproxy" and auth.env["SC_REDIS_HOST"] == "toxiproxy"
    assert auth.env["SC_S3_ENDPOINT"].startswith("http://toxiproxy:")
    for key, value in auth.env.items():
        if key.endswith("_FILE"):
            assert value.startswith("/run/secrets/"), key
            assert Path(value).name in auth.secrets, key


def test_mail_goes_to_the_relay_stand_in_with_the_shipped_tls_and_login(
    specs: dict[str, ContainerSpec], shipped: deployment.Deployment
) -> None:
    auth = specs["auth"].env
    assert (auth["SC_SMTP_HOST"], auth["SC_SMTP_STARTTLS"]) == ("capture", "true")
    assert auth["SC_SMTP_USERNAME_FILE"] == "/run/secrets/smtp_username"
    command = specs["capture"].command or []
    assert "--tls-cert" in command and "--login-file" in command
    alertmanager = yaml.safe_load(
        next(
            Path(p) for p, t in specs["alertmanager"].mounts.items() if "alertmanager" in t
        ).read_text()
    )
    assert alertmanager["global"]["smtp_require_tls"] is True
    assert alertmanager["global"]["smtp_smarthost"] == "capture:2525"
    assert "tls_ca_cert" in specs["alertmanager"].secrets


def test_chat_scaled_to_two_and_every_caller_knows_both(specs: dict[str, ContainerSpec]) -> None:
    both = "http://chat-1:8080,http://chat-2:8080"
    for caller in ("gateway", "auth", "video"):
        assert specs[caller].env["SC_CHAT_URLS"] == both, caller
    assert {specs["chat-1"].env["SC_INSTANCE_ID"], specs["chat-2"].env["SC_INSTANCE_ID"]} == {
        "chat-1",
        "chat-2",
    }
    assert set(specs["gateway"].depends_on) >= {"auth", "chat-1", "chat-2"}


def test_grafana_is_not_started_and_says_why(specs: dict[str, ContainerSpec]) -> None:
    assert "grafana" not in specs
    assert any("grafana" in line for line in deployment.HARNESS_OVERLAY)


def test_a_subset_of_services_waits_for_none_of_the_others(tmp_path: Path) -> None:
    images = ImageSet.load(Path("/nonexistent"), environ={})
    loaded = deployment.load(tmp_path, images, only=["auth"])
    names = {spec.name for spec in loaded.specs}
    assert {"auth", "gateway", "migrations"} <= names and "chat-1" not in names
    gateway = next(spec for spec in loaded.specs if spec.name == "gateway")
    assert set(gateway.depends_on) <= names and "SC_VIDEO_URL" not in gateway.env


def test_published_ports_are_on_loopback_and_distinct(specs: dict[str, ContainerSpec]) -> None:
    ports = [(p.host, p.protocol) for spec in specs.values() for p in spec.ports]
    assert len(ports) == len(set(ports))
    assert all(spec.address.startswith("127.0.0.1:") for spec in specs.values() if spec.ports)


@pytest.mark.parametrize(
    ("syntax", "service"),
    [
        (
            "v1",
            {
                "image": "x",
                "volumes": ["/abs/conf:/etc/conf:ro", "data:/data:rw"],
                "secrets": [{"source": "db_password"}],
                "mem_limit": "256m",
                "cpus": 0.5,
                "depends_on": {"db": {"condition": "service_healthy"}},
                "healthcheck": {"test": ["CMD", "true"], "interval": "1m30s"},
            },
        ),
        (
            "v2",
            {
                "image": "x",
                "volumes": [
                    {"type": "bind", "source": "/abs/conf", "target": "/etc/conf"},
                    {"type": "volume", "source": "data", "target": "/data"},
                ],
                "secrets": [{"source": "db_password", "target": "db_password"}],
                "mem_limit": "268435456",
                "cpus": 0.5,
                "depends_on": ["db"],
                "healthcheck": {"test": "true", "interval": "1m30s"},
            },
        ),
    ],
)
def test_either_compose_cli_syntax(syntax: str, service: dict[str, object]) -> None:
    spec = container_spec("x", service, [])
    assert spec.mounts == {"/abs/conf": "/etc/conf"} and spec.volumes == {"data": "/data"}
    assert spec.secrets == ("db_password",) and spec.depends_on == ("db",)
    assert spec.healthcheck is not None and spec.healthcheck.interval_s == 90.0


def test_healthcheck_in_nanoseconds() -> None:
    check = Healthcheck(("CMD", "true"), interval_s=2, timeout_s=1.5, retries=4, start_period_s=30)
    assert check.to_api() == {
        "test": ["CMD", "true"],
        "interval": 2_000_000_000,
        "timeout": 1_500_000_000,
        "retries": 4,
        "start_period": 30_000_000_000,
    }


def test_toxiproxy_reports_host_addresses() -> None:
    client = HostViewToxiproxy(
        "http://127.0.0.1:1", {"postgres:5432": "127.0.0.1:40001"}, {15432: "127.0.0.1:40002"}
    )
    seen = ProxyInfo("postgres", "0.0.0.0:15432", "postgres:5432", True)
    host = client.host_view(seen)
    client.close()
    assert (host.listen, host.upstream) == ("127.0.0.1:40002", "127.0.0.1:40001")
    assert host.address == ("127.0.0.1", 40002)
