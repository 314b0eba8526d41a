"""Every artifact of a run, as it will be published, scanned for the run's own secrets.

A run publishes: what pytest and the checks wrote into the run folder (pytest.log,
JUnit, Allure results, write histories, load outputs), which the runner redacts
once the session ends (harness.redaction); results.json, report.md and report.html,
rendered from the check results; and the logs of every component, copied as the
product wrote them (the product redacts its own logs; SEC-007 and this scan judge
that). The scan builds each of these as it will be published — the run folder's
files through the same redaction, the reports rendered by the report's own code into
a scratch folder, JUnit from pytest's own reporter, the component logs from the
platform — and looks in them for every secret of the run: the values its clients
were handed or sent (RUN_SECRETS), the stack's secrets, and any JWT.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.checks.model import CheckResult
from harness.checks.scoring import DEFAULT_POLICY, Policy
from harness.literals import Literals
from harness.redaction import JWT, REDACTED, redact_text
from harness.report.publish import render_run
from harness.report.run import RunRecord

#: Where the component logs land in the run folder; copied verbatim, not redacted.
LOGS_DIR = "logs"
EXCERPT_CHARS = 160


@dataclass(frozen=True)
class Artifact:
    name: str
    text: str


@dataclass(frozen=True)
class Leak:
    artifact: str
    line: int
    #: The line around the secret, the secret itself replaced.
    excerpt: str

    def row(self) -> list[str]:
        return [self.artifact, str(self.line), self.excerpt]


def published_text(relative: Path, text: str) -> str:
    """The text as the run will publish it: component logs verbatim, the rest redacted."""
    return text if relative.parts[:1] == (LOGS_DIR,) else redact_text(text)


def run_folder(run_dir: Path) -> Iterator[Artifact]:
    """Every text file written into the run folder so far, as it will be published."""
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file()):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        relative = path.relative_to(run_dir)
        yield Artifact(str(relative), published_text(relative, text))


def rendered_reports(results: list[CheckResult], backend: str, scratch: Path) -> Iterator[Artifact]:
    """results.json, report.md and report.html of the results so far, by the report's code."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    record = RunRecord("artifact-scan", now, now, backend, "smoke", [], results)
    policy = Policy.load(DEFAULT_POLICY)
    scratch.mkdir(parents=True, exist_ok=True)
    render_run(record, record.scorecard(policy), None, scratch, policy)
    for path in sorted(p for p in scratch.iterdir() if p.is_file()):
        yield Artifact(f"(rendered) {path.name}", path.read_text(encoding="utf-8"))


def junit(config: Any) -> Artifact | None:
    """The JUnit XML of the session so far, from pytest's own reporter (None without it)."""
    from _pytest.junitxml import xml_key

    reporter = config.stash.get(xml_key, None)
    if reporter is None:
        return None
    cases = [ET.tostring(r.to_xml(), encoding="unicode") for r in reporter.node_reporters_ordered]
    return Artifact("(rendered) junit.xml", redact_text("\n".join(cases)))


def component_logs(logs: dict[str, str]) -> Iterator[Artifact]:
    for name, text in sorted(logs.items()):
        yield Artifact(f"{LOGS_DIR}/{name}.log", text)


def scan(artifacts: Iterable[Artifact], secrets: Iterable[str]) -> tuple[list[Leak], int]:
    """Every line of every artifact holding a secret or a JWT; how many artifacts."""
    literals = Literals(s for s in secrets if s != REDACTED)
    leaks, count = [], 0
    for artifact in artifacts:
        count += 1
        leaks += _leaks(artifact, literals)
    return leaks, count


def _leaks(artifact: Artifact, literals: Literals) -> list[Leak]:
    """One leak per line of `artifact` holding a match, from one pass over its text."""
    text = artifact.text
    starts = sorted([s for s, _ in literals.spans(text)] + [m.start() for m in JWT.finditer(text)])
    leaks: list[Leak] = []
    number, counted_to, line_end = 1, 0, -1
    for start in starts:
        if start < line_end:
            continue  # this line has its leak
        number += text.count("\n", counted_to, start)
        counted_to = start
        line_start = text.rfind("\n", 0, start) + 1
        newline = text.find("\n", start)
        line_end = len(text) if newline < 0 else newline
        line = text[line_start:line_end]
        leaks.append(Leak(artifact.name, number, _excerpt(line, start - line_start, literals)))
    return leaks


def _excerpt(line: str, at: int, literals: Literals) -> str:
    """The line around offset `at` (its first match: nothing before it is replaced)."""
    cleaned = JWT.sub(REDACTED, literals.sub(REDACTED, line))
    start = max(0, at - EXCERPT_CHARS // 2)
    return cleaned[start : start + EXCERPT_CHARS]


def secret_journey(api: Any, gateway_url: str, capture_url: str | None) -> list[str]:
    """Handle every kind of secret a run handles, once, through the public API: a
    password, the verification mail's token, access, refresh and device tokens, a
    rotated pair, a WebSocket authenticated in its URL, presigned upload and download
    links, TURN credentials, logout. What was done, for the evidence."""
    from harness.clients.api import verification_token
    from harness.clients.realtime import EventListener, Files

    session = api.new_session()
    done = ["registered and logged in (password, access, refresh and device tokens)"]
    if capture_url is not None:
        token = verification_token(capture_url, session.email)
        answer = api.http.post("/api/v1/auth/verify-email", json={"token": token})
        done.append(f"e-mail verified with the mailed token ({answer.status_code})")
    rotated = api.refresh(session.refresh_token)
    if rotated.status_code == 200:
        session.access_token = rotated.json()["access_token"]
        done.append("refreshed (a rotated pair)")
    with EventListener(gateway_url, session.access_token) as listener:
        listener.wait_for(lambda e: e["type"] == "ready")
        done.append("/ws opened with the token in its URL")
    files = Files(api, session)
    uploaded = files.upload(b"artifact scan")
    if uploaded.status_code == 200:
        files.download(uploaded.json()["file_id"])
        done.append("file uploaded and downloaded (presigned links)")
    turn = api.http.get("/api/v1/calls/turn-credentials", headers=session.headers)
    done.append(f"TURN credentials issued ({turn.status_code})")
    done.append(f"logged out ({api.logout(session).status_code})")
    return done
