"""What a check is, what running it produced, and the categories of the audit."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    BLOCKER = "BLOCKER"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"


class Status(StrEnum):
    """What a check's run established. Only PASS and FAIL are judgements; the rest
    are *unknown* and never count as passed."""

    PASS = "pass"
    FAIL = "fail"
    #: It ran, but its result cannot be trusted: its fault never touched the traffic
    #: (inert), or the stack could not be made healthy before it.
    UNKNOWN = "unknown"
    #: The check or its fixture broke (a harness error, not the system's fault).
    ERROR = "error"
    SKIPPED = "skipped"
    NOT_RUN = "not run"

    @property
    def is_unknown(self) -> bool:
        return self not in (Status.PASS, Status.FAIL)


#: The audit's categories, in report order: the seed report's eight plus load, config and
#: robustness (hostile clients: fuzzing, stateful models, abuse of the auth flows).
CATEGORIES: dict[str, str] = {
    "container": "Container Health & Restart Stability",
    "connectivity": "Inter-Service Connectivity",
    "degraded": "Redis/S3/DB Degraded Mode",
    "core": "Auth, Chat, Video, Storage Core Flows",
    "observability": "Observability (Metrics, Logs, Alerts)",
    "security": "Security & Secrets Usage",
    "resources": "Resource Usage (CPU, RAM)",
    "features": "Unused/Unfinished Features",
    "config": "Configuration Audit",
    "load": "Load & SLO",
    "robustness": "API Robustness (Hostile Clients)",
}

#: Rows the seed audit judged per category (its pass/fail matrix, 102 in all): the
#: report puts them beside the checks a run judged, so a row of the seed has ours to
#: compare with. Categories the seed did not have are absent.
SEED_ROWS: dict[str, int] = {
    "container": 14,
    "connectivity": 6,
    "degraded": 8,
    "core": 25,
    "observability": 12,
    "security": 21,
    "resources": 9,
    "features": 7,
}

PROFILES = ("smoke", "full")


@dataclass(frozen=True)
class Check:
    """A readiness check: one pytest test carrying the `check` marker."""

    id: str
    title: str
    category: str
    severity: Severity
    #: The seed finding it covers, e.g. "BLOCKER-4: timeout middleware not applied".
    finding: str = ""
    #: What to do when it fails.
    fix: str = ""
    #: The smallest profile that runs it: smoke checks also run in full.
    profile: str = "smoke"
    #: What users or operators suffer when it fails, in the seed's words ("Impact:").
    impact: str = ""
    #: The backends that can judge it (empty: every backend). A run on another backend
    #: leaves it out, and the verdict's badge says so.
    backends: tuple[str, ...] = ()

    def judged_on(self, backend: str) -> bool:
        return not self.backends or backend in self.backends


@dataclass
class Evidence:
    """One piece of evidence: a number, an HTTP exchange, a log excerpt, a toxic..."""

    kind: str
    label: str
    value: Any
    unit: str = ""


@dataclass
class CheckResult:
    check: Check
    status: Status
    duration_s: float = 0.0
    message: str = ""
    nodeid: str = ""
    evidence: list[Evidence] = field(default_factory=list)
    #: False when the run's profile or category filter left the check out on purpose.
    in_scope: bool = True
    #: Where `duration_s` went: "setup", "call", "teardown" (the check's own time) and
    #: "shared <fixture>" (an experiment set up once for several checks of a module).
    phases: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["check"]["severity"] = str(self.check.severity)
        data["status"] = str(self.status)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckResult:
        fields = data["check"]
        check = Check(
            **{
                **fields,
                "severity": Severity(fields["severity"]),
                "backends": tuple(fields.get("backends", ())),
            }
        )
        evidence = [Evidence(**item) for item in data.get("evidence", [])]
        return cls(
            check=check,
            status=Status(data["status"]),
            duration_s=float(data.get("duration_s", 0.0)),
            message=data.get("message", ""),
            nodeid=data.get("nodeid", ""),
            evidence=evidence,
            in_scope=bool(data.get("in_scope", True)),
            phases={str(k): float(v) for k, v in (data.get("phases") or {}).items()},
        )
