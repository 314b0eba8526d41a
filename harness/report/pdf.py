"""report.pdf: report.html printed by headless Chromium (scripts/bootstrap installs it).

The HTML carries its own print stylesheet (A4, every piece of evidence
expanded, rows and charts kept whole across pages), so the PDF is exactly
what an auditor gets from the browser's Print.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from harness.errors import ReportError

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
PRINT_TIMEOUT_S = 180.0
STDERR_TAIL_CHARS = 300


def chromium() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found is not None:
            return found
    raise ReportError("cannot print the report: Chromium is not installed (scripts/bootstrap)")


def print_pdf(html: Path, pdf: Path | None = None) -> Path:
    """Print `html` to `pdf` (default: beside it, report.pdf); the path printed to."""
    target = (pdf or html.with_suffix(".pdf")).resolve()
    target.unlink(missing_ok=True)
    # A profile of its own: another Chromium running (a test, a user) must not lock it.
    with tempfile.TemporaryDirectory(prefix="readiness-chromium-") as profile:
        command = [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={target}",
            html.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=PRINT_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise ReportError(f"Chromium did not print {html} in {PRINT_TIMEOUT_S:.0f}s") from exc
    if done.returncode != 0 or not target.is_file() or target.stat().st_size == 0:
        tail = done.stderr.strip()[-STDERR_TAIL_CHARS:]
        raise ReportError(f"Chromium could not print {html} (exit {done.returncode}): {tail}")
    return target
