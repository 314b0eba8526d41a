"""The repository explains itself: no file points outside it, and the audit map is true."""

from __future__ import annotations

import re
import subprocess

from harness.run.runner import REPO_ROOT
from harness.selftest.inventory import collect_checks

AUDIT = REPO_ROOT / "docs" / "audit.md"
#: The audit's findings, as numbered in its GO / NO-GO list.
FINDINGS = (
    [f"BLOCKER-{n}" for n in range(1, 7)]
    + [f"HIGH-{n}" for n in range(1, 11)]
    + [f"MEDIUM-{n}" for n in range(1, 16)]
)
CHECK_ID = re.compile(r"\b[A-Z]+-\d{3}\b")
#: A path into the workplace around a checkout (written so that this line does not match).
OUTSIDE = re.compile("|".join([r"\.\./shared/", "/" + "work" + "/"]))


def _tracked_text_files() -> list[str]:
    listing = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True, timeout=30
    )
    return [name for name in listing.stdout.decode().split("\0") if name]


def test_no_tracked_file_refers_outside_the_repository() -> None:
    offenders = []
    for name in _tracked_text_files():
        try:
            text = (REPO_ROOT / name).read_text()
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        offenders += [f"{name}: {m.group(0)}" for m in OUTSIDE.finditer(text)]
    assert not offenders, offenders


def _audit_rows() -> dict[str, str]:
    rows = {}
    for line in AUDIT.read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("|") and len(cells) == 4:
            rows[cells[0]] = cells[3]
    return rows


def test_every_audit_finding_has_a_row_with_checks() -> None:
    rows = _audit_rows()
    missing = [f for f in FINDINGS if not CHECK_ID.findall(rows.get(f, ""))]
    assert not missing, f"findings without a row naming checks in docs/audit.md: {missing}"


def test_every_check_the_audit_map_names_exists() -> None:
    named = set(CHECK_ID.findall(AUDIT.read_text()))
    unknown = sorted(named - set(collect_checks()))
    assert not unknown, f"docs/audit.md names checks that do not exist: {unknown}"
