"""Runs an auditor would read, built from realistic results: the report tests' fixtures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.checks.library.observability import SECURITY_HEADERS
from harness.checks.model import Check, CheckResult, Evidence, Severity, Status
from harness.checks.scoring import Policy
from harness.report.inventory import ComponentRecord
from harness.report.publish import PublishedRun, publish
from harness.tests.report.browser import dump_dom, text_of

POLICY = Policy.load()
MIB = 1024 * 1024
#: Every service sends the seven headers the security check requires.
HEADERS = dict(SECURITY_HEADERS)
STORES = ("postgres", "redis", "s3", "toxiproxy", "capture", "coturn", "alertmanager", "prometheus")
SERVICES = ("gateway", "auth", "chat-1", "chat-2", "video", "storage", "backup")
OUTAGE_S = 28.0


def components(services: tuple[str, ...] = SERVICES) -> list[ComponentRecord]:
    """A local stack as the platform reports it at the end of a run."""
    records = []
    for port, name in enumerate((*STORES, *services), start=41000):
        service = name in services
        records.append(
            ComponentRecord(
                name,
                f"127.0.0.1:{port}",
                f"http://127.0.0.1:{port}" if service else None,
                pid=2000 + port - 41000,
                proxy=name if name in ("postgres", "redis", "s3") else None,
                memory_bytes=(90 if service else 40) * MIB,
                cpu_percent=3.5,
                processes=1,
                restarts=0,
                headers=dict(HEADERS) if service else {},
            )
        )
    return records


def make(
    check_id: str,
    status: Status,
    severity: Severity = Severity.HIGH,
    category: str = "security",
    *,
    message: str = "",
    evidence: list[Evidence] | None = None,
    in_scope: bool = True,
    profile: str = "smoke",
    phases: dict[str, float] | None = None,
) -> CheckResult:
    check = Check(
        check_id,
        f"{check_id} title: what it proves about the system",
        category,
        severity,
        finding=f"seed finding answered by {check_id}",
        fix=f"the fix for {check_id}",
        profile=profile,
        impact=f"users lose what {check_id} guards",
    )
    if not message and status == Status.FAIL:
        message = f"AssertionError: {check_id} broke"
    phases = phases or {"setup": 0.2, "call": 0.4, "teardown": 0.1}
    return CheckResult(
        check,
        status,
        round(sum(phases.values()), 3),
        message,
        f"scenarios/x.py::{check_id}",
        list(evidence or []),
        in_scope,
        phases,
    )


def outage_evidence() -> list[Evidence]:
    """What DEG-001 records: a latency timeline through a Redis cut, the window, an answer."""
    latency = [[float(t), 40.0 + (900.0 if 4 <= t <= 4 + OUTAGE_S else 0.0)] for t in range(36)]
    return [
        Evidence("series", "register + login + /me", latency, "ms"),
        Evidence(
            "fault",
            "fault window: cut redis",
            {
                "kind": "cut",
                "target": "redis",
                "start_s": 4.0,
                "end_s": 4.0 + OUTAGE_S,
                "started_at": 1_800_000_004.0,
                "ended_at": 1_800_000_004.0 + OUTAGE_S,
                "proof": "cut redis: auth Redis health checks failed: 31",
            },
        ),
        Evidence("text", "statuses during the outage", "{'register': 201, 'login': 503}"),
        Evidence("number", "login latency p95", 950.0, "ms"),
    ]


def idle_gauge() -> list[Evidence]:
    """A rate that stayed 0: its axis must not read 1e-09."""
    return [Evidence("series", "request timeouts", [[0.0, 0.0], [10.0, 0.0], [20.0, 0.0]], "/s")]


def slo_evidence() -> list[Evidence]:
    rows = [
        ("chat", "p95", "send message", "180 ms", "≤ 300 ms", "met"),
        ("files", "p95", "upload", "2.4 s", "≤ 1 s", "BREACHED"),
        ("calls", "p95", "", "n/a", "≤ 500 ms", "not judged: no judged step"),
    ]
    keys = ("journey", "metric", "step", "measured_text", "limit_text", "verdict")
    return [Evidence("slo", "SLO measures", [dict(zip(keys, row, strict=True)) for row in rows])]


def publish_run(
    root: Path,
    run_id: str,
    results: list[CheckResult],
    *,
    categories: list[str] | None = None,
    profile: str = "full",
    services: list[str] | None = None,
    stack: list[ComponentRecord] | None = None,
    started_at: str = "2026-11-25T10:00:00Z",
) -> PublishedRun:
    run_dir = root / run_id
    run_dir.mkdir(parents=True)
    return publish(
        run_dir,
        run_id,
        started_at,
        "local",
        profile,
        categories or [],
        results,
        POLICY,
        root,
        services=services,
        components=components() if stack is None else stack,
    )


PASSING_EVIDENCE = "x-frame-options DENY on every service, read on screen only when opened"


@dataclass
class Rendered:
    published: PublishedRun
    dom: str

    @property
    def html(self) -> Path:
        return self.published.run_dir / "report.html"

    @property
    def markdown(self) -> str:
        return (self.published.run_dir / "report.md").read_text()

    def text(self, element_id: str) -> str:
        return text_of(self.dom, element_id)


def rendered(published: PublishedRun) -> Rendered:
    return Rendered(published, dump_dom(published.run_dir / "report.html"))


def security_results() -> list[CheckResult]:
    return [
        make("SEC-001", Status.PASS, Severity.BLOCKER, "security"),
        make("SEC-002", Status.PASS, Severity.HIGH, "security"),
        make("DEG-001", Status.NOT_RUN, Severity.BLOCKER, "degraded", in_scope=False),
        make("HEALTH-001", Status.NOT_RUN, Severity.BLOCKER, "container", in_scope=False),
    ]


def blocker_results(deg_001: Status, sec_002: Status) -> list[CheckResult]:
    headers = [Evidence("text", "security headers", PASSING_EVIDENCE)]
    shared = {"setup": 0.0, "call": 0.1, "teardown": 0.0, "shared outage": OUTAGE_S}
    return [
        make(
            "DEG-001",
            deg_001,
            Severity.BLOCKER,
            "degraded",
            evidence=outage_evidence(),
            phases={**shared, "setup": 0.3},
        ),  # fmt: skip
        make(
            "DEG-002", Status.PASS, Severity.HIGH, "degraded", evidence=idle_gauge(), phases=shared
        ),  # fmt: skip
        make(
            "STOR-001", Status.SKIPPED, Severity.BLOCKER, "core", message="the stack has no storage"
        ),  # fmt: skip
        make("SEC-001", Status.PASS, Severity.BLOCKER, "security", evidence=headers),
        make("SEC-002", sec_002, Severity.MEDIUM, "security"),
        make(
            "LOAD-001",
            Status.FAIL,
            Severity.HIGH,
            "load",
            evidence=slo_evidence(),
            message="files p95 (upload): 2.4 s (SLO ≤ 1 s) BREACHED",
        ),  # fmt: skip
        make("HEALTH-001", Status.PASS, Severity.BLOCKER, "container"),
        make(
            "RES-001", Status.NOT_RUN, Severity.MEDIUM, "resources", in_scope=False, profile="full"
        ),  # fmt: skip
    ]
