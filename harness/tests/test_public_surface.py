"""The harness's public surface: what `harness` and `harness.checks` export, and the rule
that scenarios import nothing else (scenarios/ruff.toml, ruff's TID251)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

import harness
import harness.checks

REPO = Path(__file__).resolve().parents[2]
RUFF = Path(sys.executable).with_name("ruff")
PUBLIC = (harness, harness.checks)


def _public_names(package: ModuleType) -> list[str]:
    """Every name the package's namespace offers, but its own submodules (the import
    system puts those there, exported or not)."""
    return sorted(
        name
        for name, value in vars(package).items()
        if not name.startswith("_")
        and not (isinstance(value, ModuleType) and value.__name__ == f"{package.__name__}.{name}")
    )


@pytest.mark.parametrize("package", PUBLIC, ids=lambda p: p.__name__)
def test_all_exports_are_listed_sorted_and_nothing_else_is_public(package: ModuleType) -> None:
    assert list(package.__all__) == sorted(package.__all__), f"{package.__name__}.__all__"
    assert sorted(package.__all__) == _public_names(package)


@pytest.mark.parametrize("package", PUBLIC, ids=lambda p: p.__name__)
def test_every_export_resolves(package: ModuleType) -> None:
    missing = [name for name in package.__all__ if not hasattr(package, name)]
    assert not missing


def _submodules(package: ModuleType) -> set[str]:
    return {f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__)}


def test_scenarios_are_banned_from_every_module_but_the_public_two() -> None:
    """A module added to the harness is banned for scenarios the day it is added."""
    config = tomllib.loads((REPO / "scenarios" / "ruff.toml").read_text())
    banned = set(config["lint"]["flake8-tidy-imports"]["banned-api"])
    expected = (_submodules(harness) - {"harness.checks"}) | _submodules(harness.checks)
    assert banned == expected


@pytest.mark.parametrize(
    ("line", "allowed"),
    [
        ("from harness.clients.api import ApiClient", False),
        ("from harness.checks.library.workloads import Team", False),
        ("from harness import load", False),
        ("import harness.platform.probes", False),
        ("from harness import ApiClient", True),
        ("from harness.checks import History, workloads", True),
    ],
)
def test_ruff_enforces_the_rule_on_scenarios(line: str, allowed: bool) -> None:
    result = subprocess.run(
        [str(RUFF), "check", "--select", "TID251", "--stdin-filename", "scenarios/x.py", "-"],
        input=f"{line}\n",
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert ("TID251" not in result.stdout) == allowed, result.stdout
