"""SEC-010's scan: it finds the run's secrets in artifacts, and what the harness records
is redacted before it reaches one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from harness.checks.evidence import EvidenceLog
from harness.checks.library.artifacts import (
    Artifact,
    component_logs,
    published_text,
    rendered_reports,
    run_folder,
    scan,
)
from harness.checks.model import Check, CheckResult, Evidence, Severity, Status
from harness.redaction import REDACTED, RUN_SECRETS, register_body

REFRESH = "live-refresh-token-0123456789"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
CHECK = Check("CORE-001", "login works", "core", Severity.HIGH)


@pytest.fixture(autouse=True)
def registry() -> Iterator[None]:
    RUN_SECRETS.clear()
    yield
    RUN_SECRETS.clear()


def login_answer() -> httpx.Response:
    """A login through a client whose answers register their secrets, as ApiClient's do."""
    body = {"access_token": JWT, "refresh_token": REFRESH, "token_type": "bearer"}
    transport = httpx.MockTransport(lambda _: httpx.Response(200, json=body))
    with httpx.Client(transport=transport) as client:
        response = client.post("http://gateway/api/v1/auth/login", json={"password": "pw"})
    response.elapsed = timedelta(milliseconds=5)  # a mock transport does not time it
    register_body(response.content)
    return response


def test_a_component_log_holding_a_secret_is_found_and_the_excerpt_hides_it():
    login_answer()
    leaks, scanned = scan(
        component_logs({"auth": f'{{"msg": "refresh", "presented": "{REFRESH}"}}\nclean line'}),
        RUN_SECRETS.values(),
    )
    assert scanned == 1 and [(k.artifact, k.line) for k in leaks] == [("logs/auth.log", 1)]
    assert REFRESH not in leaks[0].excerpt


def test_any_jwt_is_found_even_unregistered():
    leaks, _ = scan([Artifact("pytest.log", f"Authorization: {JWT}")], [])
    assert len(leaks) == 1


def test_each_line_holding_secrets_is_one_leak_at_its_line_number():
    text = f"clean\n{REFRESH} and {JWT}\nclean\r\nlast: {REFRESH}"
    leaks, _ = scan([Artifact("logs/chat.log", text)], [REFRESH])
    assert [k.line for k in leaks] == [2, 4]
    assert leaks[0].excerpt == f"{REDACTED} and {REDACTED}"
    assert leaks[1].excerpt == f"last: {REDACTED}"


def test_evidence_is_recorded_redacted():
    log = EvidenceLog()
    log.http("login", login_answer())
    log.note("tokens", f"refresh {REFRESH}")
    leaks, _ = scan([Artifact("evidence", json.dumps([e.value for e in log.items]))], [REFRESH])
    assert not leaks


def test_reports_rendered_from_leaky_evidence_are_caught(tmp_path: Path):
    """What the scan renders is what the writers publish: raw evidence that bypassed
    the redaction shows up in results.json and the reports."""
    login_answer()
    leaky = CheckResult(CHECK, Status.FAIL, evidence=[Evidence("text", "raw", REFRESH)])
    artifacts = list(rendered_reports([leaky], "local", tmp_path / "reports"))
    names = {a.name for a in artifacts}
    assert {"(rendered) results.json", "(rendered) report.md"} <= names
    leaks, _ = scan(artifacts, RUN_SECRETS.values())
    assert {k.artifact for k in leaks} >= {"(rendered) results.json", "(rendered) report.md"}


def test_the_run_folder_is_read_as_published(tmp_path: Path):
    login_answer()
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "auth.log").write_text(REFRESH)
    (tmp_path / "pytest.log").write_text(REFRESH)
    found = {a.name: a.text for a in run_folder(tmp_path)}
    assert found["logs/auth.log"] == REFRESH  # the product's own log, kept as written
    assert REFRESH not in found["pytest.log"]  # redacted at the end of the run
    assert published_text(Path("junit.xml"), JWT) != JWT
