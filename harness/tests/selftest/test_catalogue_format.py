"""A bad catalogue file is one line naming the file and the field; the CLI exits 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.selftest.catalogue import Shard, load_catalogue, load_defect, select

GOOD = """\
id: DEF-TEST-GOOD
title: A defect for the tests
category: security
kind: env
env: {auth: {SC_LOG_LEVEL: "DEBUG"}}
caught_by:
  - check: SEC-007
    severity: HIGH
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_a_good_file_loads(tmp_path: Path) -> None:
    defect = load_defect(write(tmp_path, "DEF-TEST-GOOD.yaml", GOOD))
    assert defect.checks == ["SEC-007"] and defect.caught_by[0].expect == "fail"
    assert defect.env == {"auth": {"SC_LOG_LEVEL": "DEBUG"}} and not defect.fast


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (("category: security", "category: nope"), "category"),
        (("kind: env", "kind: sql"), "kind"),
        (("id: DEF-TEST-GOOD", "id: DEF-TEST-OTHER"), "id"),
        (("id: DEF-TEST-GOOD", "id: bad"), "id"),
        (("severity: HIGH", "severity: URGENT"), "caught_by[0].severity"),
        (("check: SEC-007", "check: sec7"), "caught_by[0].check"),
        (("    severity: HIGH", "    severity: HIGH\n    expect: pass"), "caught_by[0].expect"),
        (('{auth: {SC_LOG_LEVEL: "DEBUG"}}', "{mailer: {X: y}}"), "env.mailer"),
        (('{auth: {SC_LOG_LEVEL: "DEBUG"}}', "{auth: {X: true}}"), "env.auth"),
        (("kind: env", "kind: patch"), "patch"),
        (("kind: env", "kind: component"), "component"),
        (("kind: env", "kind: component\ncomponent: redis-typo"), "component"),
        (("kind: env", "kind: env\ncomponent: redis-no-password"), "component"),
        (("title: A defect for the tests", "titel: typo"), "titel"),
    ],
)
def test_a_bad_field_is_named(tmp_path: Path, change: tuple[str, str], field: str) -> None:
    path = write(tmp_path, "DEF-TEST-GOOD.yaml", GOOD.replace(*change))
    with pytest.raises(ConfigError) as raised:
        load_defect(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: {field}:") and "\n" not in message, message


def test_a_component_defect_names_its_stand_in(tmp_path: Path) -> None:
    text = GOOD.replace("kind: env", "kind: component\ncomponent: redis-no-password")
    defect = load_defect(write(tmp_path, "DEF-TEST-GOOD.yaml", text))
    assert defect.component == "redis-no-password" and defect.patch is None


def test_a_patch_outside_the_product_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "p.patch", "diff --git a/harness/x.py b/harness/x.py\n")
    text = GOOD.replace("kind: env", "kind: patch\npatch: p.patch").replace(
        'env: {auth: {SC_LOG_LEVEL: "DEBUG"}}\n', ""
    )
    with pytest.raises(ConfigError, match=r"patch: touches harness/x.py"):
        load_defect(write(tmp_path, "DEF-TEST-GOOD.yaml", text))


def test_unreadable_yaml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "DEF-TEST-GOOD.yaml", "id: [unclosed\n")
    with pytest.raises(ConfigError, match=f"^{path}: not readable YAML"):
        load_catalogue(tmp_path)


def test_selection_refuses_unknown_ids(tmp_path: Path) -> None:
    defects = [load_defect(write(tmp_path, "DEF-TEST-GOOD.yaml", GOOD))]
    with pytest.raises(ConfigError, match="--defect 'DEF-NOPE-X' is not in the catalogue"):
        select(defects, ["DEF-NOPE-X"], fast=False)
    with pytest.raises(ConfigError, match="no defect matches"):
        select(defects, [], fast=True)


def test_shards_are_disjoint_and_together_the_whole_catalogue() -> None:
    catalogue = load_catalogue()
    parts = [select(catalogue, [], False, Shard(k, 3)) for k in (1, 2, 3)]
    ids = [d.id for part in parts for d in part]
    assert sorted(ids) == sorted(d.id for d in catalogue) and len(set(ids)) == len(ids)
    assert max(map(len, parts)) - min(map(len, parts)) <= 1


@pytest.mark.parametrize("text", ["0/3", "4/3", "1/0", "2", "a/b", "1/3/5", "-1/3", ""])
def test_a_shard_is_a_part_of_a_whole(text: str) -> None:
    with pytest.raises(ConfigError, match="is not a part like 2/3"):
        Shard.parse(text)


def readiness(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", "selftest", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_cli_prints_one_line_and_exits_2_on_bad_input(tmp_path: Path) -> None:
    write(tmp_path, "DEF-TEST-GOOD.yaml", GOOD.replace("severity: HIGH", "severity: URGENT"))
    bad_file = readiness("--catalogue", str(tmp_path), "--list")
    unknown_id = readiness("--defect", "DEF-NOPE-X", "--list")
    for result in (bad_file, unknown_id):
        assert result.returncode == 2, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.stderr
    assert "caught_by[0].severity" in bad_file.stderr
    assert "DEF-NOPE-X" in unknown_id.stderr


def test_the_cli_lists_the_catalogue() -> None:
    result = readiness("--list")
    assert result.returncode == 0, result.stderr
    assert "DEF-SEC-HEADERS-ONLY-ON-SUCCESS" in result.stderr
