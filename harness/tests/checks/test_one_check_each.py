"""One test function, a check per item: ids, titles and severities per parameter."""

from __future__ import annotations

from typing import Any

import pytest

from harness import one_check_each
from harness.checks.model import Check, Severity
from harness.errors import CheckError


def _checks(params: list[Any]) -> dict[str, Check]:
    return {p.values[0]: p.marks[0].args[0] for p in params}


def test_each_item_is_a_check_of_its_own() -> None:
    params = one_check_each(
        {"CONT-001": "postgres", "CONT-002": "backup"},
        "{item} declares a health check",
        category="container",
        severity={"postgres": "MEDIUM", "backup": "HIGH"},
        fix="Give {item} a healthcheck.",
    )
    checks = _checks(params)
    assert [c.id for c in checks.values()] == ["CONT-001", "CONT-002"]
    assert checks["backup"].title == "backup declares a health check"
    assert checks["backup"].severity is Severity.HIGH
    assert checks["postgres"].severity is Severity.MEDIUM
    assert checks["postgres"].fix == "Give postgres a healthcheck."
    assert [p.id for p in params] == ["postgres", "backup"]


def test_a_bad_id_fails_at_import() -> None:
    with pytest.raises(CheckError, match="CONT-1"):
        one_check_each({"CONT-1": "redis"}, "{item}", category="container", severity="LOW")
