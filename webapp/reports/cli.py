"""``flask --app webapp report --unit CODE --period PERIOD --format docx|xlsx -o FILE [--lang vi|en]``."""

from __future__ import annotations

from pathlib import Path

import click
from flask_babel import force_locale

from webapp.reports import FORMATS, LOCALES, ReportError, build_report


@click.command("report")
@click.option(
    "--unit", "unit_code", default=None, help="Code of the unit, e.g. sl-ttpvhcc; omitted or 'sl': the province."
)
@click.option("--period", required=True, help="A published period: 2026-Q3, 2026-H1 or 2026.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="docx (Word, administrative layout) or xlsx (tables); default: from the file's extension.",
)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="File to write.")
@click.option("--lang", type=click.Choice(LOCALES), default="vi", show_default=True, help="Language of the report.")
def report_command(unit_code: str | None, period: str, fmt: str | None, output: Path, lang: str) -> None:
    """Write the periodic report of a unit or of the province, from the published figures."""
    fmt = fmt or output.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise click.UsageError("give --format docx or xlsx (or an output file ending in .docx or .xlsx)")
    try:
        report = build_report(unit_code, period, fmt, locale=lang)
    except ReportError as error:
        with force_locale(lang):
            raise click.ClickException(str(error)) from None
    output.write_bytes(report.content)
    click.echo(f"Report written to {output} ({len(report.content):,} bytes).")
