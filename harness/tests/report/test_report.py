"""The report folder: Markdown like the seed, HTML that renders offline, results, diff."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from harness.checks.model import Severity, Status
from harness.checks.scoring import Policy
from harness.errors import ConfigError
from harness.report.publish import publish, rerender
from harness.tests.report.results import result

POLICY = Policy.load()
NO_GO_RED = (198, 40, 40)
SCREEN = (1200, 900)


def _publish(root: Path, run_id: str, statuses: dict[str, Status]) -> Path:
    results = [
        result(check_id, status, Severity.BLOCKER if check_id.endswith("1") else Severity.HIGH)
        for check_id, status in statuses.items()
    ]
    run_dir = root / run_id
    run_dir.mkdir(parents=True)
    publish(run_dir, run_id, "2026-11-25T00:00:00Z", "local", "smoke", [], results, POLICY, root)
    return run_dir


@pytest.fixture
def two_runs(tmp_path: Path) -> tuple[Path, Path]:
    first = _publish(tmp_path, "run-1", {"SEC-001": Status.PASS, "SEC-002": Status.FAIL})
    second = _publish(
        tmp_path,
        "run-2",
        {"SEC-001": Status.FAIL, "SEC-002": Status.PASS, "SEC-003": Status.NOT_RUN},
    )
    return first, second


def test_a_run_folder_holds_every_output(two_runs: tuple[Path, Path]) -> None:
    _, second = two_runs
    for name in ("results.json", "report.md", "report.html", "diff.json"):
        assert (second / name).is_file(), name
    assert (second.parent / "latest").resolve() == second.resolve()
    results = json.loads((second / "results.json").read_text())
    assert results["verdict"] == "NO-GO" and results["schema_version"] == 1


def test_the_markdown_is_laid_out_like_the_seed(two_runs: tuple[Path, Path]) -> None:
    text = (two_runs[1] / "report.md").read_text()
    for heading in (
        "## EXECUTIVE SUMMARY",
        "## FINAL VERDICT",
        "## DETAILED FINDINGS",
        "#### BLOCKER ISSUES",
        "## PASS/FAIL MATRIX",
        "## NEXT ACTIONS CHECKLIST",
    ):
        assert heading in text, heading
    assert "### ❌ NO-GO" in text
    assert "**Root Cause:** AssertionError: SEC-001 broke" in text
    assert "- [ ] **SEC-001:**" in text


def test_the_diff_names_new_failures_and_fixes(two_runs: tuple[Path, Path]) -> None:
    diff = json.loads((two_runs[1] / "diff.json").read_text())
    assert diff["new_failures"] == ["SEC-001"]
    assert diff["fixed"] == ["SEC-002"]
    assert diff["new_checks"] == ["SEC-003"]
    assert "## CHANGES SINCE RUN `run-1`" in (two_runs[1] / "report.md").read_text()


def test_rerender_against_another_run_and_its_errors(two_runs: tuple[Path, Path]) -> None:
    first, second = two_runs
    root = second.parent
    published = rerender(root, "run-2", "run-1", POLICY)
    assert published.run_dir == second.resolve() and str(published.card.verdict) == "NO-GO"
    with pytest.raises(ConfigError, match="no results"):
        rerender(root, "run-2", "run-404", POLICY)
    (first / "results.json").write_text("{not json")
    with pytest.raises(ConfigError, match="corrupt"):
        rerender(root, "run-2", "run-1", POLICY)


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("chromium is missing: scripts/bootstrap installs it")
    return found


def test_the_html_report_renders_in_headless_chromium(two_runs: tuple[Path, Path]) -> None:
    html = two_runs[1] / "report.html"
    shot = html.with_suffix(".png")
    base = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    subprocess.run(
        [*base, f"--screenshot={shot}", f"--window-size={SCREEN[0]},{SCREEN[1]}", html.as_uri()],
        check=True,
        capture_output=True,
        timeout=120,
    )
    dom = subprocess.run(
        [*base, "--dump-dom", html.as_uri()],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert 'id="verdict-badge"' in dom and "NO-GO" in dom
    assert 'id="category-table"' in dom and "Security &amp; Secrets Usage" in dom
    image = Image.open(shot).convert("RGB")
    assert image.size == SCREEN
    # The red NO-GO badge is painted near the top of the first screen.
    top = image.crop((0, 0, SCREEN[0], SCREEN[1] // 2))
    red = sum(
        count for count, colour in top.getcolors(maxcolors=1 << 20) or () if colour == NO_GO_RED
    )
    assert red > 2000, f"only {red} pixels of the NO-GO badge are visible"
