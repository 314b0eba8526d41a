"""The catalogue as it stands: every file valid, every patch current, every check covered."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.checks.model import CATEGORIES
from harness.selftest.catalogue import Defect, load_catalogue
from harness.selftest.inventory import CheckEntry, collect_checks
from harness.selftest.tree import apply_patch, copy_tree

#: The issue asks for at least this many defects in the catalogue.
MINIMUM_DEFECTS = 15
#: What `make test` may spend on the fast subset, seconds (each defect starts a stack).
FAST_SUBSET_MAX = 5


@pytest.fixture(scope="module")
def catalogue() -> list[Defect]:
    return load_catalogue()


@pytest.fixture(scope="module")
def checks() -> dict[str, CheckEntry]:
    return collect_checks()


def test_every_defect_file_validates(catalogue: list[Defect]) -> None:
    assert len(catalogue) >= MINIMUM_DEFECTS, [d.id for d in catalogue]


def test_every_category_has_a_defect(catalogue: list[Defect]) -> None:
    missing = sorted(set(CATEGORIES) - {d.category for d in catalogue})
    assert not missing, f"categories without a seeded defect: {missing}"


def test_the_fast_subset_is_small(catalogue: list[Defect]) -> None:
    fast = [d.id for d in catalogue if d.fast]
    assert 2 <= len(fast) <= FAST_SUBSET_MAX, fast


def test_every_patch_applies_to_the_current_tree(catalogue: list[Defect], tmp_path: Path) -> None:
    tree = copy_tree(tmp_path / "tree")
    for defect in catalogue:
        if defect.patch is not None:
            apply_patch(tree, defect.patch, check_only=True)


def test_every_caught_by_check_exists(
    catalogue: list[Defect], checks: dict[str, CheckEntry]
) -> None:
    unknown = [f"{d.id}: {c}" for d in catalogue for c in d.checks if c not in checks]
    assert not unknown, f"caught_by names checks the scenarios do not have: {unknown}"


def test_each_expected_severity_is_the_declared_one_or_a_policy_floor(
    catalogue: list[Defect], checks: dict[str, CheckEntry]
) -> None:
    from harness.checks.scoring import Policy

    policy = Policy.load()
    wrong = [
        f"{d.id}: {e.check} expects {e.severity}"
        for d in catalogue
        for e in d.caught_by
        if e.check in checks
        and policy.severity_of(e.check, checks[e.check].check.severity) != e.severity
    ]
    assert not wrong, f"the policy judges these checks at another severity: {wrong}"


def _uncovered(catalogue: list[Defect], checks: dict[str, CheckEntry]) -> list[str]:
    covered = {c for d in catalogue for c in d.checks}
    return sorted(set(checks) - covered)


def test_every_check_has_a_defect_that_it_must_catch(
    catalogue: list[Defect], checks: dict[str, CheckEntry]
) -> None:
    uncovered = _uncovered(catalogue, checks)
    assert not uncovered, f"checks without a seeded defect: {', '.join(uncovered)}"
