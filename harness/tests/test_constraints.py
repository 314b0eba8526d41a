"""constraints.txt pins every Python dependency pyproject.toml names (scripts/pin-dependencies)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def pinned() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = version.strip()
    return pins


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = project.get("dependencies", [])
    for extra in project["optional-dependencies"].values():
        lines += extra
    return [Requirement(line) for line in lines]


def test_every_declared_dependency_is_pinned_within_its_range() -> None:
    pins = pinned()
    unpinned = [str(r) for r in declared() if canonicalize_name(r.name) not in pins]
    outside = [
        f"{r} (pinned {pins[canonicalize_name(r.name)]})"
        for r in declared()
        if canonicalize_name(r.name) in pins
        and not r.specifier.contains(pins[canonicalize_name(r.name)], prereleases=True)
    ]
    assert not unpinned, f"run scripts/pin-dependencies: not pinned: {unpinned}"
    assert not outside, f"run scripts/pin-dependencies: pin outside the range: {outside}"


def test_pins_are_exact_versions_only() -> None:
    lines = [
        line
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert all("==" in line and " @ " not in line for line in lines), (
        "constraints.txt holds name==version lines only (no paths, no URLs)"
    )
