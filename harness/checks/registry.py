"""The `check` marker: how a pytest test becomes a readiness check.

@check("HEALTH-001", "Every component passes its health probe",
       category="container", severity="BLOCKER", finding="...", fix="...", impact="...")
def test_components_are_healthy(stack, evidence): ...
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

import pytest

from harness.checks.model import CATEGORIES, PROFILES, Check, Severity
from harness.errors import CheckError

if TYPE_CHECKING:
    from _pytest.mark.structures import ParameterSet

CHECK_ID = re.compile(r"^[A-Z]+-\d{3}$")


def check(
    check_id: str,
    title: str,
    *,
    category: str,
    severity: str,
    finding: str = "",
    fix: str = "",
    profile: str = "smoke",
    impact: str = "",
    backends: tuple[str, ...] = (),
) -> pytest.MarkDecorator:
    """Mark a test as the readiness check `check_id`; bad metadata fails at import."""
    if not CHECK_ID.match(check_id):
        raise CheckError(f"check id {check_id!r} is not like HEALTH-001")
    if category not in CATEGORIES:
        raise CheckError(f"{check_id}: unknown category {category!r}")
    if severity not in Severity.__members__:
        raise CheckError(f"{check_id}: unknown severity {severity!r}")
    if profile not in PROFILES:
        raise CheckError(f"{check_id}: unknown profile {profile!r}")
    return pytest.mark.check(
        Check(
            check_id, title, category, Severity(severity), finding, fix, profile, impact, backends
        )
    )


def one_check_each(
    items: Mapping[str, str],
    title: str,
    *,
    category: str,
    severity: str | Mapping[str, str],
    finding: str = "",
    fix: str = "",
    profile: str = "smoke",
    impact: str = "",
    backends: tuple[str, ...] = (),
) -> list[ParameterSet]:
    """Parameters that make one test function a check per item (a component, a header, a
    flow step): `items` maps each check id to its item, and `{item}` in the title,
    finding, fix and impact names it. `severity` may differ per item (a mapping by item).

        @pytest.mark.parametrize("component", one_check_each(
            {"CONT-001": "postgres", "CONT-002": "redis"},
            "{item} declares a health check", category="container", severity="HIGH"))
        def test_health_check_declared(component: str) -> None: ...
    """
    params = []
    for check_id, item in items.items():
        level = severity if isinstance(severity, str) else severity[item]
        mark = check(
            check_id,
            title.format(item=item),
            category=category,
            severity=level,
            finding=finding.format(item=item),
            fix=fix.format(item=item),
            profile=profile,
            impact=impact.format(item=item),
            backends=backends,
        )
        params.append(pytest.param(item, marks=mark, id=item))
    return params


def check_of(item: pytest.Item) -> Check | None:
    marker = item.get_closest_marker("check")
    return marker.args[0] if marker is not None else None


def require_components(present: list[str], *prefixes: str) -> None:
    """Skip the check (counted as unknown, never as passed) when the stack lacks a service.

    `present` is `stack.names()`; a prefix matches instances too (`chat` → chat-1).
    """
    missing = [p for p in prefixes if not any(n.split("-")[0] == p for n in present)]
    if missing:
        pytest.skip(f"the stack has no {', '.join(missing)}")
