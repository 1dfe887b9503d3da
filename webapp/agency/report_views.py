"""Periodic reports of a unit to download (DOCX or XLSX), from published snapshots only.

The province's report is the report of the unit ``sl``, which only users whose scope is the
whole province (administrators, or accounts of the unit ``sl``) can reach.
"""

from __future__ import annotations

from flask import Response, render_template, request
from flask_babel import gettext as _

from public import readers
from webapp.access import unit_or_404
from webapp.agency.blueprint import agency
from webapp.i18n import current_language
from webapp.models import Unit
from webapp.periods import Period

PERIOD_KINDS = ("Q", "H", "Y")


def published_periods() -> dict[str, list[str]]:
    """Published period labels by kind (quarter, half-year, year), newest first."""
    return {kind: [s.period for s in reversed(readers.latest_snapshots(kind))] for kind in PERIOD_KINDS}


def _render(unit: Unit, *, chosen: dict, problems: list[str], status: int = 200):
    return (
        render_template(
            "agency/reports.html",
            unit=unit,
            periods=published_periods(),
            chosen=chosen,
            problems=problems,
        ),
        status,
    )


@agency.get("/units/<code>/reports")
def reports(code: str):
    """Choose a published period and a format; the download answers the same form."""
    unit = unit_or_404(code)
    chosen = {"period": "", "format": "docx", "language": current_language()}
    return _render(unit, chosen=chosen, problems=[])


@agency.get("/units/<code>/reports/download")
def download_report(code: str):
    """The report file, or the form again with the reason it cannot be made (400)."""
    from webapp.reports import FORMATS, ReportError, build_report

    unit = unit_or_404(code)
    period = (request.args.get("period") or "").strip()[:10]
    fmt = request.args.get("format", "docx")
    language = request.args.get("language", current_language())
    chosen = {"period": period, "format": fmt, "language": language}
    problems = []
    if not period:
        problems.append(_("Choose a period."))
    else:
        try:
            Period.parse(period)
        except ValueError:
            problems.append(_("Choose one of the published periods."))
    if fmt not in FORMATS:
        problems.append(_("Choose the format: Word (DOCX) or Excel (XLSX)."))
    if language not in ("vi", "en"):
        problems.append(_("Choose the language of the report."))
    if not problems:
        try:
            report = build_report(unit.code, period, fmt, locale=language)
        except ReportError as error:
            problems.append(str(error))
        else:
            response = Response(report.content, mimetype=report.mimetype)
            response.headers["Content-Disposition"] = f'attachment; filename="{report.filename}"'
            return response
    return _render(unit, chosen=chosen, problems=problems, status=400)
