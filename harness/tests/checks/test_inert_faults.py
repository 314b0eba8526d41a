"""A check whose fault touched no traffic is *unknown*, never passed.

A tiny scenario suite runs with the real plugin and its `faults` fixture
against a real Redis behind the embedded Toxiproxy: the same faults, once with
traffic through them and once aimed where no traffic goes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CONFTEST = """
import pytest
from harness.platform.components.datastores import Redis
from harness.platform.components.edge import Toxiproxy
from harness.platform.local import LocalPlatform

pytest_plugins = ["harness.checks.plugin"]


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    components = [Redis(), Toxiproxy()]
    platform = LocalPlatform(tmp_path_factory.mktemp("stack"), components, restart=False)
    platform.up()
    yield platform
    platform.down()
"""

SCENARIO = """
import pytest
import redis
from harness import check
from harness.tests.stacks import redis_via_proxy


def marked(check_id):
    return check(check_id, "t", category="degraded", severity="BLOCKER")


@pytest.fixture
def client(stack):
    connection = redis_via_proxy(stack, timeout_s=1.0)
    yield connection
    connection.close()


@marked("P-001")
def test_cut_with_nobody_connected(faults):
    with faults.cut("redis"):
        pass


@marked("P-002")
def test_cut_drops_a_live_connection(faults, client):
    client.ping()
    with faults.cut("redis"):
        with pytest.raises(redis.ConnectionError):
            client.ping()


@marked("P-003")
def test_latency_nobody_goes_through(faults):
    with faults.latency("redis", ms=50):
        pass


@marked("P-004")
def test_latency_with_traffic(faults, client):
    with faults.latency("redis", ms=50):
        client.ping()


@marked("P-005")
def test_inert_fault_but_the_check_failed(faults):
    with faults.half_open("redis"):
        raise AssertionError("the system broke anyway")


@marked("P-006")
def test_proof_from_the_client_view(faults, client):
    with faults.cut("redis") as window:
        try:
            client.ping()
        except redis.ConnectionError:
            window.observe("pings refused")


@marked("P-007")
def test_edge_cut_proven_by_a_connection_around_the_proxy(faults, stack, evidence):
    # CONN-005..010's proof is the harness's own connection through the cut proxy being
    # refused; aimed around the proxy, it connects: the cut is not proven.
    from harness.checks import components

    host, port = stack.endpoint("redis").address.rsplit(":", 1)
    around = lambda _store: (host, int(port))
    components.edge_defect(faults, "http://127.0.0.1:9", "redis", around, evidence)
"""

EXPECTED = {
    "P-001": "unknown",
    "P-002": "pass",
    "P-003": "unknown",
    "P-004": "pass",
    "P-005": "fail",
    "P-006": "pass",
    "P-007": "unknown",
}


@pytest.mark.timeout(180)
def test_an_inert_fault_makes_the_check_unknown(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_scenario=SCENARIO)
    results = Path(pytester.path) / "results.json"
    pytester.runpytest_subprocess(f"--readiness-results={results}", "-p", "no:cacheprovider")
    recorded = {r["check"]["id"]: r for r in json.loads(results.read_text())["results"]}
    assert {cid: r["status"] for cid, r in recorded.items()} == EXPECTED
    assert "fault proven inert" in recorded["P-001"]["message"]
    proof = {e["label"]: e["value"] for e in recorded["P-002"]["evidence"]}
    assert proof["fault cut redis"].startswith("cut redis: connections dropped by the cut: 1")
    assert "chunks delayed" in str(recorded["P-004"]["evidence"])
