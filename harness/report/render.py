"""Render a run into report.md and report.html."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from harness.report.charts import score_bars, trend_chart
from harness.report.view import ReportView, template_globals

#: Characters of one evidence value shown before it is cut (HTTP bodies, logs).
EVIDENCE_CHARS = 4000


def fault_text(window: dict[str, Any]) -> str:
    """A fault window evidence item: what, when on the check's clock, and its proof."""
    end = window.get("end_s")
    until = f"{end:.1f} s" if end is not None else "end not recorded"
    return f"{window['start_s']:.1f} s → {until}; {window.get('proof', '')}"


def evidence_text(value: Any) -> str:
    if isinstance(value, str):
        text = value
    elif isinstance(value, dict) and {"kind", "target", "start_s"} <= set(value):
        text = fault_text(value)
    elif isinstance(value, dict) and set(value) == {"columns", "rows"}:
        text = table_text(value["columns"], value["rows"])
    else:
        text = json.dumps(value, indent=1, default=str)
    if len(text) > EVIDENCE_CHARS:
        return text[:EVIDENCE_CHARS] + f"\n… ({len(text) - EVIDENCE_CHARS} more characters)"
    return text


def table_text(columns: list[str], rows: list[list[str]]) -> str:
    """A table evidence item as aligned plain text (the report shows it preformatted)."""
    lines = [columns, *rows]
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(columns))]
    return "\n".join(
        "  ".join(
            str(cell).ljust(width) for cell, width in zip(line, widths, strict=False)
        ).rstrip()
        for line in lines
    )


def md_cell(value: object) -> str:
    """Text that stays inside one Markdown table cell."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def md_inline(text: str) -> str:
    """Text after a list item's label: as is on one line, else a fenced block under it."""
    if "\n" not in text:
        return text
    return "\n    ```\n" + textwrap.indent(text, "    ") + "\n    ```"


#: Emoji marks (the Markdown's, like the seed's) → glyphs every font of a printout has.
GLYPHS = {"✅": "✔", "❌": "✘", "❔": "?", "💥": "✘", "⏭": "»"}


def glyphs(text: str) -> str:
    for emoji, glyph in GLYPHS.items():
        text = text.replace(emoji, glyph)
    return text


def number(value: object) -> str:
    """A measured number with the digits that matter: 1164.09375 → 1164.09."""
    return f"{value:.6g}" if isinstance(value, int | float) else str(value)


def seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("harness.report", "templates"),
        # Every HTML template is escaped: evidence holds bodies and logs from the system.
        autoescape=select_autoescape(["html", "html.j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["evidence_text"] = evidence_text
    env.filters["seconds"] = seconds
    env.filters["number"] = number
    env.filters["glyphs"] = glyphs
    env.filters["md_cell"] = md_cell
    env.filters["md_inline"] = md_inline
    env.globals.update(template_globals())
    return env


def _trend_svg(view: ReportView) -> str:
    if view.trends is None:
        return ""
    points = [
        (p.started_at[5:16].replace("T", " "), p.score, p.verdict, p.current)
        for p in view.trends.points
    ]
    return trend_chart(points)


def render_markdown(view: ReportView) -> str:
    template = _environment().get_template("report.md.j2")
    return template.render(view=view, run=view.run, card=view.card, scope=view.scope)


def render_html(view: ReportView) -> str:
    template = _environment().get_template("report.html.j2")
    return template.render(
        view=view,
        run=view.run,
        card=view.card,
        scope=view.scope,
        score_chart=score_bars([(c.title, c.score.score or 0.0) for c in view.categories]),
        trend_chart=_trend_svg(view),
    )


def write_reports(view: ReportView, directory: Path) -> tuple[Path, Path]:
    markdown, html = directory / "report.md", directory / "report.html"
    markdown.write_text(render_markdown(view))
    html.write_text(render_html(view))
    return markdown, html
