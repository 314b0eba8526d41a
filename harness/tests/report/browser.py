"""Reading a report as a person would: rendered by headless Chromium, printed, looked at.

Screenshots and printouts are kept as test artifacts (ARTIFACTS_DIR, or
READINESS_ARTIFACTS) for a person to look at after the run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness.report.pdf import chromium

REPO_ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS_DIR = Path(
    os.environ.get("READINESS_ARTIFACTS", REPO_ROOT / "reports" / "test-artifacts")
)
BROWSER_TIMEOUT_S = 120.0
SCREEN_W = 1200


def artifacts(name: str) -> Path:
    folder = ARTIFACTS_DIR / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _browser(*args: str) -> str:
    with tempfile.TemporaryDirectory(prefix="report-test-chromium-") as profile:
        done = subprocess.run(
            [
                chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=BROWSER_TIMEOUT_S,
            check=True,
        )
    return done.stdout


def dump_dom(html: Path) -> str:
    """The document as Chromium built it (scripts run, entities resolved), on a screen
    SCREEN_W pixels wide."""
    return _browser(f"--window-size={SCREEN_W},900", "--dump-dom", html.resolve().as_uri())


def screenshot(html: Path, png: Path, height: int = 1600) -> Path:
    _browser(f"--screenshot={png}", f"--window-size={SCREEN_W},{height}", html.resolve().as_uri())
    return png


def measured_width(html: Path, selector: str) -> float:
    """The rendered width in CSS pixels of the element `selector` picks, on a screen
    SCREEN_W pixels wide."""
    probe = html.with_name(f".{html.stem}-probe.html")
    script = (
        "<script>document.body.setAttribute('data-measured', "
        f"document.querySelector({selector!r}).getBoundingClientRect().width);</script>"
    )
    probe.write_text(html.read_text().replace("</body>", script + "</body>"))
    try:
        dom = dump_dom(probe)
    finally:
        probe.unlink()
    marker = 'data-measured="'
    start = dom.index(marker) + len(marker)
    return float(dom[start : dom.index('"', start)])


def poppler(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        pytest.fail(f"{tool} is missing: scripts/bootstrap installs poppler-utils")
    return found


class _TextOf(HTMLParser):
    """The text inside the element with one id, tags stripped."""

    VOID = {"br", "img", "meta", "link", "input", "hr", "col", "source", "wbr"}

    def __init__(self, element_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.element_id = element_id
        self.depth = 0
        self.parts: list[str] = []
        self.found = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        if self.depth:
            self.depth += 1
        elif dict(attrs).get("id") == self.element_id:
            self.depth, self.found = 1, True

    def handle_endtag(self, tag: str) -> None:
        if self.depth and tag not in self.VOID:
            self.depth -= 1
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.parts.append(data)


def text_of(dom: str, element_id: str) -> str:
    """The visible words of the element `#element_id`, whitespace collapsed."""
    parser = _TextOf(element_id)
    parser.feed(dom)
    assert parser.found, f"no element #{element_id} in the report"
    return " ".join("".join(parser.parts).split())
