"""The containers the Docker platform would start, checked without starting them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.platform.components.services import Service
from harness.platform.docker.images import ImageSet
from harness.platform.docker.specs import ContainerSpec, Healthcheck
from harness.platform.docker.topology import default_specs
from harness.platform.docker.toxiproxy import HostViewToxiproxy
from harness.platform.local import default_components
from harness.platform.runtime import RunContext
from harness.toxiproxy.client import ProxyInfo


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunContext]:
    context = RunContext.create(tmp_path_factory.mktemp("specs"))
    yield context
    context.remove(include_run_dir=True)


@pytest.fixture(scope="module")
def specs(run: RunContext) -> dict[str, ContainerSpec]:
    images = ImageSet.load(Path("/nonexistent"), environ={})
    return {spec.name: spec for spec in default_specs(run, images)}


def test_same_components_as_the_local_platform(specs: dict[str, ContainerSpec]) -> None:
    local = [c.name for c in default_components()]
    assert list(specs) == local


def test_every_long_running_container_has_limits_restart_and_health(
    specs: dict[str, ContainerSpec],
) -> None:
    for spec in specs.values():
        assert spec.mem_limit and spec.cpus > 0, spec.name
        if not spec.oneshot:
            assert spec.restart == "unless-stopped", spec.name
            assert spec.healthcheck is not None and spec.healthcheck.start_period_s > 0
            assert spec.probe is not None, spec.name


def test_stores_run_as_compose_deploys_them(specs: dict[str, ContainerSpec]) -> None:
    postgres = " ".join(specs["postgres"].command or [])
    assert "ssl=on" in postgres and "hba_file=/etc/secureconnect/pg_hba.conf" in postgres
    assert any(
        target == "/etc/secureconnect/pg_hba.conf" for target in specs["postgres"].mounts.values()
    )
    assert specs["redis"].user == "redis"
    assert "coturn-healthcheck.sh" in " ".join(specs["coturn"].healthcheck.test)  # type: ignore[union-attr]
    assert specs["s3"].env["MINIO_KMS_AUTO_ENCRYPTION"] == "on"


def test_services_get_the_local_env_contract_through_toxiproxy(
    run: RunContext, specs: dict[str, ContainerSpec]
) -> None:
    for local in (c for c in default_components() if isinstance(c, Service)):
        missing = set(local.env(run)) - set(specs[local.name].env)
        assert not missing, f"{local.name} lacks {missing} on docker"
    auth = specs["auth"].env
    assert auth["SC_DB_HOST"] == "toxiproxy" and auth["SC_REDIS_HOST"] == "toxiproxy"
    assert auth["SC_S3_ENDPOINT"].startswith("http://toxiproxy:")
    for key, value in auth.items():
        if key.endswith("_FILE"):
            assert value.startswith("/run/secrets/"), key
            assert Path(value).name in specs["auth"].secrets, key


def test_the_gateway_routes_to_the_backends_by_network_alias(
    specs: dict[str, ContainerSpec],
) -> None:
    gateway = specs["gateway"].env
    assert gateway["SC_AUTH_URL"] == "http://auth:8080"
    assert gateway["SC_CHAT_URLS"] == "http://chat-1:8080,http://chat-2:8080"
    assert set(specs["gateway"].depends_on) >= {"auth", "chat-1", "chat-2"}


def test_published_ports_are_on_loopback_and_distinct(specs: dict[str, ContainerSpec]) -> None:
    ports = [(p.host, p.protocol) for spec in specs.values() for p in spec.ports]
    assert len(ports) == len(set(ports))
    assert all(spec.address.startswith("127.0.0.1:") for spec in specs.values() if spec.ports)


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
