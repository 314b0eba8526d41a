"""The environment a run records: the compose backend says what it changed of the files."""

from __future__ import annotations

from harness.report.environment import describe_environment


def test_a_compose_run_records_the_shipped_files_and_the_harness_overlay() -> None:
    deployment = describe_environment("compose")["deployment"]
    assert "docker-compose.chaos.yml" in deployment
    assert "chat at 2 instances" in deployment and "grafana not started" in deployment


def test_a_local_run_records_no_deployment() -> None:
    assert "deployment" not in describe_environment("local")
