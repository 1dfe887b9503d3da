"""Periodic reports (quarter, half-year, year) of a unit or the province, from published snapshots.

:func:`build_report` is the one entry point, used by the agency and admin download routes and
by ``flask --app webapp report``::

    report = build_report("sl-ttpvhcc", "2026-Q3", "docx", locale="vi")
    report.content, report.filename, report.mimetype

A period that is not published, or a unit that is unknown or did not exist in the period,
raises :class:`ReportError`, whose ``str()`` is a message in the current locale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from webapp.models import utcnow
from webapp.reports.data import ReportError, collect

__all__ = ["FORMATS", "MIMETYPES", "Report", "ReportError", "build_report"]

FORMATS = ("docx", "xlsx")
MIMETYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
LOCALES = ("vi", "en")


@dataclass(frozen=True)
class Report:
    content: bytes
    #: ASCII only, safe in a Content-Disposition header: ``bao-cao-sl-ttpvhcc-2026-Q3.docx``.
    filename: str
    mimetype: str


def report_filename(scope_code: str, period_label: str, fmt: str, locale: str) -> str:
    stem = "report" if locale == "en" else "bao-cao"
    return f"{stem}-{scope_code}-{period_label}.{fmt}"


def build_report(
    unit_code: str | None,
    period: str,
    fmt: Literal["docx", "xlsx"],
    *,
    locale: str = "vi",
    now: datetime | None = None,
) -> Report:
    """The report of ``unit_code`` (None or ``sl``: the province) for ``period`` in ``fmt`` and ``locale``.

    Needs an application context. Raises :class:`ReportError` when the period is not published
    or written wrongly, the unit is unknown or did not exist in the period, or the format or
    locale is not offered.
    """

    if fmt not in FORMATS:
        raise ReportError(_l("Choose the format docx or xlsx."))
    if locale not in LOCALES:
        raise ReportError(_l("Choose the language vi or en."))
    with force_locale(locale):
        data = collect(unit_code, period, locale, now or utcnow())
        if fmt == "docx":
            from webapp.reports.docx_writer import write_docx  # start-up: python-docx is slow to import

            content = write_docx(data)
        else:
            from webapp.reports.xlsx_writer import write_xlsx  # start-up: openpyxl is slow to import

            content = write_xlsx(data)
    return Report(content, report_filename(data.scope_code, data.period.label, fmt, locale), MIMETYPES[fmt])
