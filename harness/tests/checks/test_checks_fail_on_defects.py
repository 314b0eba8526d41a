"""Every check family fails, naming the defect, against a target that has it."""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from minio import Minio
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from harness.checks.evidence import EvidenceLog
from harness.checks.library import (
    alerts,
    connectivity,
    container,
    features,
    observability,
    secrets,
    storage,
    transport,
)
from harness.platform.components.datastores import POSTGRES_USER, S3
from harness.platform.local import LocalPlatform
from harness.platform.ports import free_port
from harness.tests.checks.defects import (
    CoturnWithoutAuth,
    MemoryHog,
    PostgresWithoutTls,
    RedisWithoutPassword,
    S3WithoutAuth,
)

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def defective(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPlatform]:
    components = [
        PostgresWithoutTls(),
        RedisWithoutPassword(),
        S3WithoutAuth(),
        CoturnWithoutAuth(),
        MemoryHog(mib=300),
    ]
    platform = LocalPlatform(tmp_path_factory.mktemp("defects"), components, restart=False)
    platform.up()
    yield platform
    platform.down()


def _address(platform: LocalPlatform, name: str) -> tuple[str, int]:
    host, port = platform.endpoint(name).address.rsplit(":", 1)
    return host, int(port)


async def test_a_database_without_tls_fails_sec_001(defective: LocalPlatform) -> None:
    evidence = EvidenceLog()
    with pytest.raises(AssertionError, match="plain-text"):
        await transport.postgres_requires_verified_tls(
            *_address(defective, "postgres"),
            POSTGRES_USER,
            defective.secret("postgres_superuser_password"),
            defective.ca_certificate(),
            evidence,
        )
    assert any(e.value.startswith("ok") for e in evidence.items if "plain" in e.label)


def test_redis_without_a_password_fails_sec_002(defective: LocalPlatform) -> None:
    with pytest.raises(AssertionError, match="without a password"):
        transport.redis_requires_password(*_address(defective, "redis"), "", EvidenceLog())


def test_s3_without_auth_fails_sec_003(defective: LocalPlatform) -> None:
    host, port = _address(defective, "s3")
    with pytest.raises(AssertionError, match="unsigned request"):
        transport.s3_requires_signatures(f"{host}:{port}", "key", "secret", EvidenceLog())


def test_turn_accepting_test_test_fails_sec_004(defective: LocalPlatform) -> None:
    with pytest.raises(AssertionError, match="test:test"):
        transport.turn_uses_rest_secret(
            *_address(defective, "coturn"), defective.secret("turn_secret"), EvidenceLog()
        )


def test_a_memory_hog_fails_res_001(defective: LocalPlatform) -> None:
    over = container.memory_defects(defective, {"hog": 256}, 256)
    assert "hog" in over and "> 256 MiB" in over["hog"]


def test_a_component_without_restart_policy_fails_health_002(defective: LocalPlatform) -> None:
    assert container.recovery_time(defective, "hog", deadline_s=2.0) is None


class _BareService:
    """An HTTP service with none of the shared middleware: no headers, no metrics,
    a plain-text log and a route that hangs."""

    def __init__(self) -> None:
        async def health(_: object) -> PlainTextResponse:
            return PlainTextResponse("ok")

        async def ready(_: object) -> JSONResponse:
            return JSONResponse({"status": "ok"})

        async def metrics(_: object) -> PlainTextResponse:
            # The Redis gauge declared, its sample labelled with the wrong service.
            return PlainTextResponse(
                '# TYPE redis_degraded_mode gauge\nredis_degraded_mode{service="redis"} 0.0\n'
            )

        async def hang(_: object) -> PlainTextResponse:
            await asyncio.sleep(3600)
            return PlainTextResponse("never")

        async def unfinished(_: object) -> JSONResponse:
            return JSONResponse({"detail": "not implemented"}, status_code=501)

        async def openapi(_: object) -> JSONResponse:
            paths = {"/health": {"get": {}}, "/unfinished": {"post": {}}}
            return JSONResponse({"openapi": "3.1.0", "paths": paths})

        app = Starlette(
            routes=[
                Route("/health", health),
                Route("/ready", ready),
                Route("/metrics", metrics),
                Route("/hang", hang),
                Route("/openapi.json", openapi),
                Route("/unfinished", unfinished, methods=["POST"]),
            ]
        )
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def bare_service() -> Iterator[_BareService]:
    service = _BareService()
    service.thread.start()
    while not service.server.started:
        threading.Event().wait(0.05)
    yield service
    service.server.should_exit = True
    service.thread.join(timeout=10)


def test_a_service_without_headers_fails_each_header_check(bare_service: _BareService) -> None:
    import httpx

    response = httpx.get(f"{bare_service.url}/health")
    headers = observability.SECURITY_HEADERS
    defects = [observability.header_defect("bare", response, h) for h in headers]
    assert all(defects)
    assert "x-frame-options is None" in str(defects[0])


def test_a_ready_without_dependencies_fails_obs_005(bare_service: _BareService) -> None:
    defects = observability.probe_defects("bare", bare_service.url, EvidenceLog())
    assert defects == ["bare /ready answered 200 naming []"]


def test_metrics_labelled_for_another_service_fail_the_metrics_checks(
    bare_service: _BareService,
) -> None:
    defects = observability.metrics_defects("bare", bare_service.url, "gateway", EvidenceLog())
    assert any("lacks" in d and "http_requests_total" in d for d in defects)
    assert any('service="gateway"' in d and "Redis (redis_degraded_mode)" in d for d in defects)


def test_plain_text_logs_fail_obs_006() -> None:
    defects = observability.log_defects("bare", "INFO started\nGET /health 200\n")
    assert defects[0].startswith("bare: not JSON")
    assert any("request_id" in d for d in observability.log_defects("x", '{"msg": "hi"}'))


def test_a_hanging_service_fails_the_timeout_checks(bare_service: _BareService) -> None:
    with pytest.raises(AssertionError, match="a hang"):
        connectivity.answers_within(
            "hang", "GET", f"{bare_service.url}/hang", 0.5, {504}, EvidenceLog()
        )


def _rules(tmp_path: Path, rule_expr: str, test_series: str) -> tuple[Path, Path]:
    rules, tests = tmp_path / "rules", tmp_path / "tests"
    rules.mkdir()
    tests.mkdir()
    (rules / "r.yml").write_text(
        "groups:\n- name: g\n  rules:\n"
        f"  - alert: RedisDegradedMode\n    expr: {rule_expr}\n    for: 1m\n"
        "  - alert: Untested\n    expr: vector(1)\n"
    )
    (tests / "t.yml").write_text(
        "rule_files: [../rules/r.yml]\nevaluation_interval: 1m\ntests:\n"
        f"- interval: 1m\n  input_series:\n  - series: '{test_series}'\n"
        "    values: '1 1 1 1 1'\n  alert_rule_test:\n  - eval_time: 4m\n"
        "    alertname: RedisDegradedMode\n    exp_alerts: [{exp_labels: {}}]\n"
    )
    return rules, tests


def test_an_untested_rule_fails_obs_001(tmp_path: Path) -> None:
    rules, tests = _rules(tmp_path, "redis_degraded_mode == 1", "redis_degraded_mode")
    with pytest.raises(AssertionError, match="without a promtool test.*Untested"):
        alerts.rules_are_valid_and_tested(rules, tests, EvidenceLog())


def test_a_rule_that_never_fires_fails_obs_001(tmp_path: Path) -> None:
    # The seed's rule watched redis_connections, which degraded mode never sets.
    rules, tests = _rules(tmp_path, "redis_connections < 1", "redis_degraded_mode")
    (rules / "r.yml").write_text((rules / "r.yml").read_text().split("  - alert: Untested")[0])
    evidence = EvidenceLog()
    with pytest.raises(AssertionError, match="unit tests of the alert rules fail"):
        alerts.rules_are_valid_and_tested(rules, tests, evidence)
    assert "RedisDegradedMode" in evidence.items[-1].value


def test_the_production_rules_pass_obs_001() -> None:
    rules = REPO / "compose" / "prometheus" / "rules"
    alerts.rules_are_valid_and_tested(rules, rules.parent / "tests", EvidenceLog())


def test_a_route_that_crashes_fails_feat_001(bare_service: _BareService) -> None:
    evidence = EvidenceLog()
    defects = features.route_defects("bare", bare_service.url, evidence)
    assert defects == ["bare POST /unfinished answered 501"]
    assert any("POST /unfinished" in e.label for e in evidence.items)


def test_a_token_in_a_log_fails_sec_007() -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXBhcnQ"
    logs = {
        "chat": f"GET /ws?token={token} accepted\n",
        "auth": "password=hunter2-but-longer\n",
        "gateway": "all quiet\n",
    }
    found = secrets.leaks(logs, ["hunter2-but-longer"])
    assert found == ["chat: GET /ws?token=<jwt> accepted", "auth: password=<secret>"]


def test_plaintext_in_the_bucket_fails_sec_008(tmp_path: Path) -> None:
    with LocalPlatform(tmp_path / "run", [S3()], restart=False) as platform:
        endpoint = platform.endpoint("s3").address
        keys = platform.secret("s3_access_key"), platform.secret("s3_secret_key")
        client = Minio(endpoint, *keys, secure=False)
        client.make_bucket("files")
        secret = b"PLAINTEXT-MARKER-1234567890"
        client.put_object("files", "user/1/report.txt", io.BytesIO(secret), len(secret))
        stored = storage.stored_objects(endpoint, *keys)
    assert storage.holding(stored, secret) == ["files/user/1/report.txt"]
