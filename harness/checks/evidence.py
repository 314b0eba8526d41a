"""What a check records while it runs, for the report and for the auditor."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import httpx

from harness.checks.model import Evidence
from harness.errors import NotGranted
from harness.redaction import redact, redact_text

BODY_EXCERPT_CHARS = 2000
LOG_EXCERPT_LINES = 20
SHOWN_HEADERS = (
    "content-type",
    "retry-after",
    "x-request-id",
    "strict-transport-security",
    "x-frame-options",
    "x-content-type-options",
    "content-security-policy",
    "access-control-allow-origin",
    "access-control-allow-credentials",
)


class LogSource(Protocol):
    """A stack's logs (harness.platform.base.Platform.logs)."""

    def logs(self, component: str) -> str: ...


class TimedFault(Protocol):
    """A fault window (harness.faults.injector.FaultWindow): what, where, when (wall clock)."""

    kind: str
    target: str
    started_at: float
    ended_at: float | None

    def describe(self) -> str: ...


def fault_evidence(window: TimedFault, origin: float) -> Evidence:
    """A fault window as evidence of kind "fault": its start and end in seconds since
    `origin` (the wall-clock time the check's series count from), for the timelines."""
    end = window.ended_at
    return Evidence(
        "fault",
        f"fault window: {window.kind} {window.target}",
        {
            "kind": window.kind,
            "target": window.target,
            "start_s": round(window.started_at - origin, 3),
            "end_s": None if end is None else round(end - origin, 3),
            "started_at": window.started_at,
            "ended_at": end,
            "proof": window.describe(),
        },
    )


class EvidenceLog:
    """Evidence of one check, in the order it was recorded."""

    def __init__(self) -> None:
        self.items: list[Evidence] = []
        self._started = time.monotonic()
        #: Wall-clock time of the log's second 0, which fault windows are placed against.
        self.started_at = time.time()

    def _add(self, kind: str, label: str, value: Any, unit: str = "") -> None:
        """Recorded redacted: evidence ends up in every report, JUnit and Allure."""
        self.items.append(Evidence(kind, redact_text(label), redact(value), unit))

    def number(self, label: str, value: float, unit: str = "") -> None:
        self._add("number", label, round(float(value), 6), unit)

    def note(self, label: str, text: str) -> None:
        self._add("text", label, text)

    def http(self, label: str, response: httpx.Response) -> None:
        """The request line, status, the headers that matter and a body excerpt."""
        request = response.request
        self._add(
            "http",
            label,
            {
                "request": f"{request.method} {request.url}",
                "status": response.status_code,
                "elapsed_ms": round(response.elapsed.total_seconds() * 1000, 1)
                if response.is_closed
                else None,
                "headers": {k: v for k, v in response.headers.items() if k in SHOWN_HEADERS},
                "body": response.text[:BODY_EXCERPT_CHARS] if response.is_closed else "",
            },
        )

    def log(self, label: str, text: str, lines: int = LOG_EXCERPT_LINES) -> None:
        self._add("log", label, "\n".join(text.splitlines()[-lines:]))

    def component_log(self, stack: LogSource, name: str) -> None:
        """`name`'s log as evidence of a verdict already reached; where the stack grants no
        log (an attached stack), why not, so the missing log does not take the verdict."""
        try:
            self.log(f"{name} log", stack.logs(name))
        except NotGranted as refused:
            self.note(f"{name} log", str(refused))

    def toxics(self, label: str, toxics: Iterable[Any]) -> None:
        self._add("toxics", label, [getattr(t, "__dict__", t) for t in toxics])

    def metric(self, label: str, name: str, value: float) -> None:
        self._add("metric", label, {"name": name, "value": value})

    def table(self, label: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        """A table (e.g. route × role → status): {"columns": [...], "rows": [[...], ...]}."""
        self._add(
            "table", label, {"columns": list(columns), "rows": [[str(c) for c in r] for r in rows]}
        )

    def series(self, label: str, points: Sequence[tuple[float, float]], unit: str = "") -> None:
        """A timeline (seconds since the check started, value) for the report's charts."""
        self._add("series", label, [[round(t, 3), v] for t, v in points], unit)

    def fault(self, window: TimedFault, origin: float | None = None) -> None:
        """A fault window, shaded on this check's timelines. `origin`: the wall-clock time
        the check's series count from, when not the start of this log."""
        self.items.append(fault_evidence(window, self.started_at if origin is None else origin))

    def since_start(self) -> float:
        return time.monotonic() - self._started
