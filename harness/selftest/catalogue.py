"""The seeded-defect catalogue: `defects/<ID>.yaml` files, read and validated.

The format is in README.md beside this module. A file that breaks it is a
ConfigError naming the file and the field, so `readiness selftest` prints one
line and exits 2 instead of running half a catalogue.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.checks.model import CATEGORIES, Severity
from harness.checks.registry import CHECK_ID
from harness.errors import ConfigError
from harness.platform.components.services import BACKENDS
from harness.platform.source import EVERY_SERVICE, INSTANCE
from harness.selftest.standins import STAND_INS

DEFECTS_DIR = Path(__file__).resolve().parent / "defects"
DEFECT_ID = re.compile(r"^DEF(-[A-Z0-9]+){2,}$")
KINDS = ("patch", "env", "component")
#: What a check must end as: a failure, or unknown when the defect makes its fault inert.
EXPECTED_STATUSES = ("fail", "unknown")
SERVICES = (*BACKENDS, "gateway")
#: The parts of the tree a patch may change: the product and its deployment, not the harness.
PATCHABLE = ("system/", "compose/")
FIELDS = {"id", "title", "category", "kind", "patch", "env", "component", "caught_by", "fast"}
EXPECTATION_FIELDS = {"check", "severity", "expect"}
_DIFF_HEADER = re.compile(r"^diff --git a/(\S+) b/(\S+)$", re.MULTILINE)


@dataclass(frozen=True)
class Expectation:
    """One check that must catch the defect, and how."""

    check: str
    severity: Severity
    expect: str = "fail"


@dataclass(frozen=True)
class Defect:
    id: str
    title: str
    category: str
    kind: str
    caught_by: tuple[Expectation, ...]
    source: Path
    patch: Path | None = None
    env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: The stand-in (harness.selftest.standins) run in place of a stock component.
    component: str = ""
    fast: bool = False

    @property
    def checks(self) -> list[str]:
        return [e.check for e in self.caught_by]


class _Reader:
    """Reads one file's fields; every problem names the file and the field."""

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data

    def fail(self, where: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.path}: {where}: {problem}")

    def text(self, name: str, required: bool = True) -> str:
        value = self.data.get(name)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not value.strip():
            raise self.fail(name, "missing or not a non-empty string")
        return value.strip()

    def choice(self, name: str, choices: Any) -> str:
        value = self.text(name)
        if value not in choices:
            raise self.fail(name, f"{value!r} is not one of {', '.join(choices)}")
        return value


def load_defect(path: Path) -> Defect:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{path}: not readable YAML: {problem}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: (file): not a mapping of fields")
    reader = _Reader(path, data)
    unknown = sorted(set(map(str, data)) - FIELDS)
    if unknown:
        raise reader.fail(unknown[0], f"unknown field (fields: {', '.join(sorted(FIELDS))})")
    defect_id = reader.text("id")
    if not DEFECT_ID.match(defect_id):
        raise reader.fail("id", f"{defect_id!r} is not like DEF-AREA-WHAT")
    if defect_id != path.stem:
        raise reader.fail("id", f"{defect_id!r} differs from the file name {path.name}")
    kind = reader.choice("kind", KINDS)
    fast = data.get("fast", False)
    if not isinstance(fast, bool):
        raise reader.fail("fast", "must be true or false")
    return Defect(
        id=defect_id,
        title=reader.text("title"),
        category=reader.choice("category", CATEGORIES),
        kind=kind,
        caught_by=_expectations(reader),
        source=path,
        patch=_patch(reader, kind),
        env=_env(reader, kind),
        component=_component(reader, kind),
        fast=fast,
    )


def _patch(reader: _Reader, kind: str) -> Path | None:
    name = reader.text("patch", required=kind == "patch")
    if kind != "patch":
        if name:
            raise reader.fail("patch", f"a {kind} defect has no patch (kind: patch)")
        return None
    patch = reader.path.parent / name
    if Path(name).name != name or not patch.is_file():
        raise reader.fail("patch", f"no file {name!r} beside the defect file")
    paths = patched_paths(patch)
    if not paths:
        raise reader.fail("patch", f"{name} is not a diff in `git diff` format")
    outside = sorted(p for p in paths if not p.startswith(PATCHABLE))
    if outside:
        raise reader.fail("patch", f"touches {outside[0]}; a patch changes system/ or compose/")
    return patch


def patched_paths(patch: Path) -> set[str]:
    """The repository paths a diff in `git diff` format changes (renames: both names)."""
    return {path for pair in _DIFF_HEADER.findall(patch.read_text()) for path in pair}


def _component(reader: _Reader, kind: str) -> str:
    name = reader.text("component", required=kind == "component")
    if kind != "component":
        if name:
            raise reader.fail("component", f"a {kind} defect has no stand-in (kind: component)")
        return ""
    if name not in STAND_INS:
        raise reader.fail("component", f"{name!r} is not one of {', '.join(STAND_INS)}")
    return name


def _env(reader: _Reader, kind: str) -> dict[str, dict[str, str]]:
    raw = reader.data.get("env")
    if raw is None:
        if kind == "env":
            raise reader.fail("env", "an env defect needs settings by service")
        return {}
    if not isinstance(raw, dict) or not raw:
        raise reader.fail("env", "must map service names to settings")
    env: dict[str, dict[str, str]] = {}
    for service, settings in raw.items():
        name = str(service)
        base = INSTANCE.match(name)
        if name != EVERY_SERVICE and (base.group("service") if base else name) not in SERVICES:
            raise reader.fail(f"env.{name}", f"unknown service (one of {', '.join(SERVICES)}, *)")
        if not isinstance(settings, dict) or not settings:
            raise reader.fail(f"env.{name}", "must map setting names to values")
        bad = [k for k, v in settings.items() if not isinstance(v, str | int | float)]
        if bad or any(isinstance(v, bool) for v in settings.values()):
            raise reader.fail(f"env.{name}", "values must be strings (quote them)")
        env[name] = {str(k): str(v) for k, v in settings.items()}
    return env


def _expectations(reader: _Reader) -> tuple[Expectation, ...]:
    raw = reader.data.get("caught_by")
    if not isinstance(raw, list) or not raw:
        raise reader.fail("caught_by", "must list at least one check")
    expectations = []
    for index, entry in enumerate(raw):
        where = f"caught_by[{index}]"
        if not isinstance(entry, dict):
            raise reader.fail(where, "must be a mapping with check and severity")
        unknown = sorted(set(map(str, entry)) - EXPECTATION_FIELDS)
        if unknown:
            raise reader.fail(f"{where}.{unknown[0]}", "unknown field")
        check_id, severity = entry.get("check"), entry.get("severity")
        if not isinstance(check_id, str) or not CHECK_ID.match(check_id):
            raise reader.fail(f"{where}.check", f"{check_id!r} is not a check id like CONN-003")
        if severity not in Severity.__members__:
            raise reader.fail(f"{where}.severity", f"{severity!r} is not one of {_SEVERITIES}")
        expect = entry.get("expect", "fail")
        if expect not in EXPECTED_STATUSES:
            raise reader.fail(f"{where}.expect", f"{expect!r} is not fail or unknown")
        expectations.append(Expectation(check_id, Severity(severity), expect))
    return tuple(expectations)


_SEVERITIES = ", ".join(Severity.__members__)


def load_catalogue(directory: Path = DEFECTS_DIR) -> list[Defect]:
    """Every defect of the catalogue, by id; a bad file raises ConfigError."""
    if not directory.is_dir():
        raise ConfigError(f"{directory}: no such defect catalogue folder")
    defects = [load_defect(path) for path in sorted(directory.glob("*.yaml"))]
    return sorted(defects, key=lambda d: d.id)


@dataclass(frozen=True)
class Shard:
    """Part `index` of `count` of a selection (`--shard 2/3`): every count-th defect by id
    from the index-th, so the parts are disjoint, together the whole selection, and each
    holds a share of every area. A CI matrix (or a machine at a time) runs one part each."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        index, slash, count = text.partition("/")
        if slash and index.isdigit() and count.isdigit() and 1 <= int(index) <= int(count):
            return cls(int(index), int(count))
        raise ConfigError(f"{text!r} is not a part like 2/3 (the second of three)")

    def of(self, defects: list[Defect]) -> list[Defect]:
        return defects[self.index - 1 :: self.count]


def select(
    defects: list[Defect], ids: list[str], fast: bool, shard: Shard | None = None
) -> list[Defect]:
    """The defects named (all when none are), only the fast ones with `fast`, and of
    those only the part `shard` names."""
    known = {d.id for d in defects}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise ConfigError(
            f"--defect {unknown[0]!r} is not in the catalogue; see `readiness selftest --list`"
        )
    chosen = [d for d in defects if (not ids or d.id in ids) and (d.fast or not fast)]
    if shard is not None:
        chosen = shard.of(chosen)
    if not chosen:
        raise ConfigError("no defect matches the selection")
    return chosen
