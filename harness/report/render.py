"""Render a run into report.md and report.html."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from harness.report.charts import score_bars, timeline
from harness.report.view import ReportView, template_globals


def evidence_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"columns", "rows"}:
        return table_text(value["columns"], value["rows"])
    return json.dumps(value, indent=1, default=str)


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


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("harness.report", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=False,
    )
    env.filters["evidence_text"] = evidence_text
    env.globals.update(template_globals())
    env.globals["timeline"] = timeline
    return env


def render_markdown(view: ReportView) -> str:
    template = _environment().get_template("report.md.j2")
    return template.render(view=view, run=view.run, card=view.card)


def render_html(view: ReportView) -> str:
    chart = score_bars([(c.title, c.score.score or 0.0) for c in view.categories])
    template = _environment().get_template("report.html.j2")
    return template.render(view=view, run=view.run, card=view.card, score_chart=chart)


def write_reports(view: ReportView, directory: Path) -> tuple[Path, Path]:
    markdown, html = directory / "report.md", directory / "report.html"
    markdown.write_text(render_markdown(view))
    html.write_text(render_html(view))
    return markdown, html
