"""The audit report as a person sees it: screenshots, layout, the printed PDF, the CLI.

Screenshots and the PDF are kept under reports/test-artifacts/audit-report/
(READINESS_ARTIFACTS moves them) for a person to look at.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from PIL import Image

from harness.report.pdf import print_pdf
from harness.tests.report.browser import artifacts, measured_width, poppler, screenshot
from harness.tests.report.runs import PASSING_EVIDENCE, Rendered

GO_GREEN = (46, 125, 50)
NO_GO_RED = (198, 40, 40)
#: The load check's title column must stay readable beside its SLO table (1200 px screen).
TITLE_COLUMN_MIN_PX = 400
MAX_PAGES = 40


def _size(png: Path) -> tuple[int, int]:
    with Image.open(png) as image:
        return image.size


def _pixels(png: Path, colour: tuple[int, int, int], top_px: int) -> int:
    with Image.open(png) as image:
        area = image.convert("RGB").crop((0, 0, image.width, min(top_px, image.height)))
    return sum(n for n, c in area.getcolors(maxcolors=1 << 22) or () if c == colour)


def test_screenshots_of_the_three_runs_are_kept(
    partial: Rendered, blocker: Rendered, go_to_no_go: Rendered
) -> None:
    folder = artifacts("audit-report")
    shots = {
        "partial-scope.png": (partial, GO_GREEN, 1400),
        "failed-blocker-and-skipped.png": (blocker, NO_GO_RED, 2200),
        "diff-go-to-no-go.png": (go_to_no_go, NO_GO_RED, 2000),
    }
    for name, (run, colour, height) in shots.items():
        png = screenshot(run.html, folder / name, height)
        assert _size(png) == (1200, height)
        # The verdict badge, in its colour, is on the first screen.
        assert _pixels(png, colour, 700) > 2000, f"{name}: no verdict badge on the first screen"


def test_the_printed_pdf_has_the_verdict_on_page_one(blocker: Rendered) -> None:
    folder = artifacts("audit-report")
    pdf = shutil.copy(print_pdf(blocker.html), folder / "failed-blocker-and-skipped.pdf")
    info = subprocess.run(
        [poppler("pdfinfo"), str(pdf)], capture_output=True, text=True, check=True
    ).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    assert 2 <= pages <= MAX_PAGES, f"{pages} pages"
    assert "A4" in info or "595" in info, info

    def text(*pages_wanted: str) -> str:
        command = [poppler("pdftotext"), "-layout", *pages_wanted, str(pdf), "-"]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout

    first = text("-f", "1", "-l", "1")
    assert "NO-GO" in first and "Verdict and scope" in first and "Services judged" in first
    # Evidence a screen shows only when opened is printed.
    assert PASSING_EVIDENCE in " ".join(text().split())
    subprocess.run(
        [poppler("pdftoppm"), "-png", "-r", "70", "-f", "1", "-l", "1", "-singlefile", str(pdf),
         str(folder / "printed-pdf-page-1")],
        check=True,
    )  # fmt: skip
    assert _pixels(folder / "printed-pdf-page-1.png", NO_GO_RED, 400) > 500


def test_the_load_check_title_stays_readable_beside_its_slo_table(blocker: Rendered) -> None:
    width = measured_width(blocker.html, "#check-LOAD-001 td:nth-child(2)")
    assert width >= TITLE_COLUMN_MIN_PX, f"the title column is squeezed to {width:.0f}px"


def test_the_auditor_sections_are_there(blocker: Rendered) -> None:
    prelaunch = blocker.text("prelaunch")
    for item in (
        "Production secrets",
        "SMTP provider",
        "Push credentials",
        "Edge TLS",
        "Log retention",
    ):
        assert item in prelaunch, item
    effort = blocker.text("effort")
    assert "BLOCKER 1 4–16 h" in effort and "not judged (make it judgeable) 1 1–4 h" in effort
    assert "Container Health & Restart Stability: all 1 check(s) passed" in blocker.text(
        "strengths"
    )
    weaknesses = blocker.text("weaknesses")
    assert "✘ DEG-001 title" in weaknesses and "⚠ STOR-001 title" in weaknesses
    assert "## ESTIMATED EFFORT" in blocker.markdown and "**Strengths:**" in blocker.markdown


def _readiness(*args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ) | ({"PATH": path} if path is not None else {})
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )


def test_readiness_report_pdf_prints_the_report(blocker: Rendered) -> None:
    run_dir = blocker.published.run_dir
    done = _readiness("report", "--run", str(run_dir), "--pdf")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "verdict: NO-GO — smoke profile" in done.stderr
    assert (run_dir / "report.pdf").stat().st_size > 10_000
    missing = _readiness("report", "--run", str(run_dir), "--pdf", path="/nonexistent")
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines()[-1].startswith("error: cannot print the report")
