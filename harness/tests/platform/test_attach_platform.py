"""The attach platform on a real stack it did not start: through the pids, logs, secrets and
Toxiproxy its stack file grants, and nothing more. Without a grant, a check is not run and
says which field of the file it needed; the steady state is not repaired without one."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.errors import ComponentError, NotGranted
from harness.platform.attach import AttachPlatform
from harness.platform.components.datastores import Redis
from harness.platform.components.edge import Toxiproxy
from harness.platform.local import LocalPlatform
from harness.tests.checks.scenario_runs import run_checks

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.stack

#: Everything a stack file grants beyond where the components are.
GRANTS = ("toxiproxy_api", "secrets_dir", "ca_certificate")
COMPONENT_GRANTS = ("pid", "log_file", "proxy_name", "proxy_listen")


@pytest.fixture(scope="module")
def stack_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Redis behind Toxiproxy, run by a platform that rewrites its stack file whenever its
    watchdog restarts a component, as the supervisor of `readiness up --detach` does."""
    folder = tmp_path_factory.mktemp("attach")
    path = folder / "stack.json"

    def rewrite(_component: str) -> None:
        platform.info().write(path)

    platform = LocalPlatform(folder / "run", [Redis(), Toxiproxy()], on_restart=rewrite)
    platform.up()
    platform.info().write(path)
    yield path
    platform.down()


@pytest.fixture
def granting_nothing(stack_file: Path, tmp_path: Path) -> Path:
    """The same stack, its file stripped of every grant: only where things are."""
    raw = json.loads(stack_file.read_text())
    for key in GRANTS:
        raw[key] = None
    for component in raw["components"].values():
        for key in COMPONENT_GRANTS:
            component[key] = None
    path = tmp_path / "addresses-only.json"
    path.write_text(json.dumps(raw))
    return path


def test_what_is_granted_works(stack_file: Path) -> None:
    with AttachPlatform(stack_file) as stack:
        assert stack.names() == ["redis", "toxiproxy"]
        stack.probe("redis")  # an authenticated PING: the secret is granted
        assert "redis" in stack.toxiproxy.proxies()
        assert stack.secret("redis_password")
        assert stack.ca_certificate().is_file()
        assert "Ready to accept connections" in stack.logs("redis")
        assert stack.stats("redis").rss_bytes > 0
        stack.pause("redis")
        with pytest.raises(ComponentError, match="redis is paused"):
            stack.probe("redis")
        stack.resume("redis")
        stack.probe("redis")


def test_a_killed_process_is_waited_for_until_its_supervisor_restarted_it(
    stack_file: Path,
) -> None:
    with AttachPlatform(stack_file) as stack:
        before_pid, before = stack.endpoint("redis").pid, stack.restarts("redis")
        stack.kill("redis")
        stack.start("redis")  # starts nothing: waits for the new pid in the file, healthy
        assert stack.endpoint("redis").pid != before_pid
        assert stack.restarts("redis") == before + 1
        stack.probe("redis")


def test_a_pid_grants_no_stop_on_purpose(stack_file: Path) -> None:
    with AttachPlatform(stack_file) as stack, pytest.raises(NotGranted, match="container"):
        stack.stop("redis")


def test_without_grants_every_control_is_refused_with_the_field_it_needs(
    granting_nothing: Path,
) -> None:
    with AttachPlatform(granting_nothing) as stack:
        stack.probe("redis")  # it answers: a TCP connect, the password not being granted
        stack.probe("toxiproxy")
        refusals = {
            "components.redis.pid or components.redis.container": lambda: stack.kill("redis"),
            "components.toxiproxy.pid": lambda: stack.pause("toxiproxy"),
            "components.redis.log_file": lambda: stack.logs("redis"),
            "secrets_dir": lambda: stack.secret("redis_password"),
            "ca_certificate": stack.ca_certificate,
            "toxiproxy_api": lambda: stack.toxiproxy,
        }
        for field, action in refusals.items():
            with pytest.raises(NotGranted, match=field):
                action()
        assert stack.endpoint("redis").proxy_name is None


SCENARIO = """
import os
import signal

import pytest
from harness import check


def marked(check_id):
    return check(check_id, "t", category="security", severity="BLOCKER")


@marked("T-001")
def test_needs_a_secret(stack):
    stack.secret("redis_password")


@marked("T-002")
def test_needs_a_network_fault(stack, faults):
    with faults.cut("redis"):
        pass


@marked("T-003")
def test_needs_a_process(stack, faults):
    faults.kill("redis")


@marked("T-004")
def test_needs_only_addresses(stack):
    stack.probe("redis")


@marked("T-005")
def test_leaves_toxiproxy_paused(stack):
    os.kill(int(os.environ["TOXIPROXY_PID"]), signal.SIGSTOP)


@marked("T-006")
def test_after_damage_nothing_may_repair(stack):
    pass
"""


def _run_attached(pytester: pytest.Pytester, stack_file: Path) -> dict[str, dict[str, Any]]:
    return run_checks(
        pytester, SCENARIO, "--readiness-backend=attach", f"--readiness-stack={stack_file}"
    )


def test_a_check_needing_a_missing_grant_is_not_run_with_the_reason(
    pytester: pytest.Pytester,
    stack_file: Path,
    granting_nothing: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    toxiproxy_pid = json.loads(stack_file.read_text())["components"]["toxiproxy"]["pid"]
    monkeypatch.setenv("TOXIPROXY_PID", str(toxiproxy_pid))
    try:
        recorded = _run_attached(pytester, granting_nothing)
    finally:
        os.kill(toxiproxy_pid, signal.SIGCONT)
    statuses = {check_id: r["status"] for check_id, r in recorded.items()}
    assert statuses == {
        "T-001": "not run",
        "T-002": "not run",
        "T-003": "not run",
        "T-004": "pass",
        "T-005": "pass",
        "T-006": "unknown",
    }
    reasons = {check_id: r["message"] for check_id, r in recorded.items()}
    assert "secrets_dir" in reasons["T-001"], reasons
    assert "toxiproxy_api" in reasons["T-002"], reasons
    assert "components.redis.pid or components.redis.container" in reasons["T-003"], reasons
    assert "toxiproxy could not be repaired" in reasons["T-006"], reasons
    assert "components.toxiproxy.pid" in reasons["T-006"], reasons
