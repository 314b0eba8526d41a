"""Synthetic check results for scoring and report tests."""

from __future__ import annotations

from harness.checks.model import Check, CheckResult, Evidence, Severity, Status


def result(
    check_id: str,
    status: Status,
    severity: Severity = Severity.HIGH,
    category: str = "security",
    in_scope: bool = True,
) -> CheckResult:
    check = Check(check_id, f"title of {check_id}", category, severity, "seed finding", "a fix")
    evidence = [
        Evidence("number", "latency", 12.5, "ms"),
        Evidence("series", "gauge", [[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]]),
    ]
    message = "" if status == Status.PASS else f"AssertionError: {check_id} broke"
    return CheckResult(
        check, status, 1.5, message, f"scenarios/x.py::{check_id}", evidence, in_scope
    )
