"""The report as a workbook: one sheet per table, numbers stored as numbers.

Rates are fractions formatted ``0.0%``, counts are integers, the header row is frozen and
every column has a width. A suppressed cell (too few ratings) leaves the rate and interval
empty and says why in the note column; the About sheet gives the method and the source.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

import analysis
from webapp.periods import VIETNAM
from webapp.reports import labels
from webapp.reports.data import Figure, Line, ReportData
from webapp.reports.issuer import issuer_of
from webapp.safe_text import spreadsheet_value, strip_unsafe

PERCENT = "0.0%"
SCORE = "0.00"
CHANGE = "+0.0%;-0.0%;0.0%"
INTEGER = "#,##0"
DECIMAL = "0.00"
DATETIME = "yyyy-mm-dd hh:mm"


def _sheet_title(text: str) -> str:
    """Excel refuses sheet names longer than 31 characters or with []:*?/\\."""
    text = strip_unsafe(text)
    for character in "[]:*?/\\":
        text = text.replace(character, " ")
    return text[:31]


def _write_table(
    sheet: Worksheet,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    formats: dict[int, str],
    row_formats: Sequence[dict[int, str]] | None = None,
) -> None:
    """Header in row 1 (bold, frozen), then ``rows``; ``formats`` maps a column index to a number format.

    Every value goes through :func:`spreadsheet_value`: text loses the characters XML cannot hold
    and is never read as a formula (a published comment may start with ``=``); numbers stay numbers.
    """
    sheet.append([spreadsheet_value(value) for value in headers])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for position, values in enumerate(rows):
        sheet.append([spreadsheet_value(value) for value in values])
        row = sheet.max_row
        overrides = row_formats[position] if row_formats else {}
        for index, number_format in (formats | overrides).items():
            # Empty (suppressed) cells get the format too, so the column reads the same throughout.
            sheet.cell(row=row, column=index + 1).number_format = number_format
    sheet.freeze_panes = "A2"
    for index, header in enumerate(headers, start=1):
        longest = max(
            [len(str(header))]
            + [len(_shown(sheet.cell(row=r, column=index).value)) for r in range(2, sheet.max_row + 1)]
        )
        sheet.column_dimensions[get_column_letter(index)].width = min(max(10, longest + 2), 60)
    if rows:
        sheet.auto_filter.ref = sheet.dimensions


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _note(figure: Figure | None) -> str:
    if figure is None:
        return _("Not published")
    if figure.suppressed:
        return _("Not enough data: fewer than 30 ratings or an effective size under 30; only the count is published.")
    if figure.weighted == "no":
        return _("Unweighted: the unit reported no transaction counts.")
    return ""


def _figure_values(figure: Figure | None) -> list[Any]:
    """n, rate, interval low, high, target, status: the rate and interval empty when suppressed."""
    if figure is None:
        return [None, None, None, None, None, None]
    shown = not figure.suppressed
    return [
        figure.n,
        figure.estimate if shown else None,
        figure.ci_low if shown else None,
        figure.ci_high if shown else None,
        figure.target,
        labels.status_word(figure.status) if figure.target is not None or figure.suppressed else _("No target set"),
    ]


def _previous_values(figure: Figure | None) -> list[Any]:
    if figure is None:
        return [None, None]
    return [figure.n, None if figure.suppressed else figure.estimate]


def _change_values(figure: Figure | None) -> list[Any]:
    if figure is None or figure.change is None:
        return [None, None, None]
    return [figure.change.difference, figure.change.ci_low, figure.change.ci_high]


def _figure_headers(data: ReportData) -> list[str]:
    previous = data.previous_period.label
    return [
        _("Ratings"),
        _("Rate"),
        _("%(level)s interval: low", level="95%"),
        _("%(level)s interval: high", level="95%"),
        _("Target"),
        _("Against the target"),
        _("Ratings in %(period)s", period=previous),
        _("Rate in %(period)s", period=previous),
        _("Change"),
        _("Change: interval low"),
        _("Change: interval high"),
    ]


def _figure_formats(offset: int) -> dict[int, str]:
    """Number formats of the columns of :func:`_figure_headers`, which start at column ``offset``."""
    kinds = [INTEGER, PERCENT, PERCENT, PERCENT, PERCENT, None, INTEGER, PERCENT, CHANGE, CHANGE, CHANGE]
    return {offset + i: kind for i, kind in enumerate(kinds) if kind}


def _line_values(line: Line) -> list[Any]:
    return _figure_values(line.current) + _previous_values(line.previous) + _change_values(line.current)


def _indicators_sheet(book: Workbook, data: ReportData) -> None:
    sheet = book.create_sheet(_sheet_title(_("Indicators")))
    headers = [
        _("Indicator code"),
        _("Indicator"),
        _("Period"),
        *_figure_headers(data),
        _("Effective number of ratings"),
        _("Design effect"),
        _("Services delivered (transaction counts)"),
        _("Response rate"),
        _("Note"),
    ]
    rows = []
    for line in data.indicators:
        figure = line.current
        shown = figure is not None and not figure.suppressed
        rows.append(
            [
                line.metric,
                line.label,
                data.period.label,
                *_line_values(line),
                figure.n_eff if shown else None,
                figure.deff if shown else None,
                figure.transactions if figure is not None else None,
                figure.response_rate if figure is not None else None,
                " ".join(part for part in (_note(figure), line.note) if part),
            ]
        )
    formats = _figure_formats(3) | {14: DECIMAL, 15: DECIMAL, 16: INTEGER, 17: PERCENT}
    # A mean score 1–5 is a number with two decimals, not a percentage (rate, interval, previous rate).
    score = {3 + i: SCORE for i in (1, 2, 3, 8)}
    scored = [
        line.current is not None and line.current.score or line.previous is not None and line.previous.score
        for line in data.indicators
    ]
    _write_table(sheet, headers, rows, formats, [score if is_score else {} for is_score in scored])


def _aspects_sheet(book: Workbook, data: ReportData) -> None:
    sheet = book.create_sheet(_sheet_title(_("Aspects")))
    headers = [_("Indicator code"), _("Indicator"), _("Aspect code"), _("Aspect"), *_figure_headers(data), _("Note")]
    rows = [
        [group.indicator_code, group.indicator, line.domain, line.label, *_line_values(line), _note(line.current)]
        for group in data.aspects
        for line in group.lines
    ]
    _write_table(sheet, headers, rows, _figure_formats(4))


def _breakdown_sheets(book: Workbook, data: ReportData) -> None:
    titles = {
        "service": _("Services"),
        "sector": _("Sectors"),
        "district": _("Districts"),
        "commune": _("Communes and wards"),
    }
    for breakdown in data.breakdowns:
        sheet = book.create_sheet(_sheet_title(titles.get(breakdown.kind, breakdown.kind)))
        headers = [
            _("Indicator code"),
            _("Indicator"),
            _("Code"),
            breakdown.domain_header,
            *_figure_headers(data),
            _("Services delivered (transaction counts)"),
            _("Response rate"),
            _("Note"),
        ]
        rows = []
        for line in breakdown.lines:
            figure = line.current
            rows.append(
                [
                    line.metric,
                    line.indicator,
                    line.domain,
                    line.label,
                    *_line_values(line),
                    figure.transactions if figure is not None else None,
                    figure.response_rate if figure is not None else None,
                    " ".join(part for part in (_note(figure), breakdown.note) if part),
                ]
            )
        _write_table(sheet, headers, rows, _figure_formats(4) | {15: INTEGER, 16: PERCENT})


def _link_rates_sheet(book: Workbook, data: ReportData) -> None:
    """Survey links issued, delivered and answered per unit and service; the rate over the links issued.

    Left out when no link was issued, delivered or answered in the period (the DOCX says so in words).
    """
    if not data.link_rates:
        return
    sheet = book.create_sheet(_sheet_title(_("Survey links")))
    rows = [
        [
            row.unit.code,
            row.unit.name(data.locale),
            row.service.code,
            row.service.name(data.locale),
            row.issued,
            row.one_stop,
            row.delivered,
            row.answered,
            row.answered_of_issued,
            row.rate,
        ]
        for row in data.link_rates
    ]
    headers = [
        _("Unit code"),
        _("Unit"),
        _("Service code"),
        _("Service"),
        _("Links issued"),
        _("Through the one-stop system"),
        _("Delivered"),
        _("Answered in the period"),
        _("Links issued in the period and answered"),
        _("Response rate"),
    ]
    _write_table(sheet, headers, rows, {4: INTEGER, 5: INTEGER, 6: INTEGER, 7: INTEGER, 8: INTEGER, 9: PERCENT})


def _comments_sheets(book: Workbook, data: ReportData) -> None:
    summary = data.comments
    sheet = book.create_sheet(_sheet_title(_("Comments summary")))
    rows = [
        [_("Waiting for review"), summary.pending],
        [_("Published"), summary.published],
        [_("Not published after review"), summary.hidden],
        [_("Total"), summary.total],
    ]
    _write_table(sheet, [_("Comments in %(period)s", period=data.period.label), _("Number")], rows, {1: INTEGER})
    quoted = book.create_sheet(_sheet_title(_("Published comments")))
    _write_table(
        quoted,
        [_("Date"), _("Service group"), _("Comment"), _("Reply")],
        [[c.answered_on, c.service, c.text, c.reply or ""] for c in summary.quoted],
        {0: "yyyy-mm-dd"},
    )
    for row in quoted.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")


def _insights_sheets(book: Workbook, data: ReportData) -> None:
    """Issue #16: key drivers, comment themes and action plans, one sheet each."""
    insights = data.insights
    if insights is None:
        return
    sheet = book.create_sheet(_sheet_title(_("Key drivers")))
    rows = [
        [
            group.indicator,
            _("its sector's model") if group.scope == "sector" else "",
            line.rank,
            line.aspect,
            line.rate,
            line.rate_low,
            line.rate_high,
            line.coefficient,
            line.ci_low,
            line.ci_high,
            line.odds_ratio,
            labels.quadrant_name(line.quadrant),
            line.n,
        ]
        for group in insights.drivers
        for line in group.lines
    ]
    headers = [
        _("Indicator"),
        _("Model"),
        _("Rank"),
        _("Aspect"),
        _("Satisfied"),
        _("Lower bound"),
        _("Upper bound"),
        _("Importance (log odds ratio)"),
        _("Lower bound"),
        _("Upper bound"),
        _("Odds ratio"),
        _("Priority"),
        _("Ratings"),
    ]
    _write_table(
        sheet,
        headers,
        rows,
        {2: INTEGER, 4: PERCENT, 5: PERCENT, 6: PERCENT, 7: "0.000", 8: "0.000", 9: "0.000", 10: "0.00", 12: INTEGER},
    )
    sheet = book.create_sheet(_sheet_title(_("Comment themes")))
    rows = [[line.theme, line.mentions, line.negative, line.share_negative] for line in insights.themes]
    _write_table(
        sheet,
        [_("Theme"), _("Comments"), _("Complaints"), _("Share of complaints")],
        rows,
        {1: INTEGER, 2: INTEGER, 3: PERCENT},
    )
    sheet = book.create_sheet(_sheet_title(_("Action plans")))
    rows = [
        [
            line.unit,
            line.subject,
            line.said,
            line.action,
            line.responsible,
            line.baseline_period,
            line.due_on,
            line.status,
            _("overdue") if line.overdue else "",
            line.outcome or "",
            line.latest_note or "",
        ]
        for line in insights.actions
    ]
    _write_table(
        sheet,
        [
            _("Unit"),
            _("Subject"),
            _("You said"),
            _("We will"),
            _("Responsible"),
            _("Baseline period"),
            _("Due"),
            _("Status"),
            _("Overdue"),
            _("We did"),
            _("Latest note"),
        ],
        rows,
        {6: "yyyy-mm-dd"},
    )


def _about_sheet(book: Workbook, data: ReportData) -> None:
    sheet = book.create_sheet(_sheet_title(_("About")))
    snapshot = data.snapshot
    issuer = issuer_of(data.unit)
    generated = data.generated_at.astimezone(VIETNAM).replace(tzinfo=None)
    published = (
        snapshot.published_at.astimezone(VIETNAM).replace(tzinfo=None)
        if snapshot.published_at.tzinfo
        else snapshot.published_at
    )
    rows: list[list[Any]] = [
        [
            _("Report"),
            _(
                "Results of measuring satisfaction: %(scope)s, %(period)s",
                scope=data.scope_name,
                period=labels.period_name(data.period),
            ),
        ],
        [_("Issued by"), issuer.in_sentence],
        [_("Unit code"), data.scope_code],
        [_("Unit"), data.scope_name],
        [_("Period"), data.period.label],
        [_("Previous period"), data.previous_period.label],
        [_("Revision"), snapshot.revision],
        [_("Published at"), published],
        [_("Reason for the revision"), snapshot.reason or ""],
        [_("Methodology version"), snapshot.methodology_version],
        [
            _("Revision of the previous period"),
            data.previous_snapshot.revision if data.previous_snapshot else _("Not published"),
        ],
        [_("Generated at"), generated],
        [_("Source"), _("Sơn La Satisfaction Index, published results")],
        [
            _("Method"),
            _(
                "A respondent is satisfied when the answer is 4 or 5 on the five-point scale (or one of the two "
                "satisfied faces at the counter kiosk); answers of “not used / no opinion” are left out."
            ),
        ],
        [
            _("Weighting"),
            _(
                "Rates are weighted by the number of services each unit delivered (transaction counts); the "
                "interval is the %(level)s interval for the survey design with the published method (%(method)s).",
                level="95%",
                method=analysis.DEFAULT_CI_METHOD,
            ),
        ],
        [
            _("What is never shown"),
            _(
                "Cells with fewer than 10 ratings are never shown; with fewer than 30 ratings (or an "
                "effective size under 30) only the count is given."
            ),
        ],
        [
            _("Status"),
            _(
                "Target met: the whole interval is above the target. Below target: the whole interval is below "
                "it. Not yet clear: the interval includes the target."
            ),
        ],
    ]
    _write_table(sheet, [_("Field"), _("Value")], rows, {})
    for row in sheet.iter_rows(min_row=2):
        if isinstance(row[1].value, datetime):
            row[1].number_format = DATETIME
        row[1].alignment = Alignment(wrap_text=True, vertical="top")
    sheet.column_dimensions["A"].width = 32
    sheet.column_dimensions["B"].width = 90


def write_xlsx(data: ReportData) -> bytes:
    """The report of ``data`` as an .xlsx file (call inside :func:`flask_babel.force_locale`)."""
    book = Workbook()
    book.remove(book.active)
    _indicators_sheet(book, data)
    _aspects_sheet(book, data)
    _breakdown_sheets(book, data)
    _link_rates_sheet(book, data)
    _comments_sheets(book, data)
    _insights_sheets(book, data)
    _about_sheet(book, data)
    properties = book.properties
    properties.title = strip_unsafe(
        _(
            "Results of measuring satisfaction: %(scope)s, %(period)s",
            scope=data.scope_name,
            period=labels.period_name(data.period),
        )
    )
    properties.subject = data.period.label
    properties.creator = strip_unsafe(issuer_of(data.unit).in_sentence)
    properties.language = data.locale
    properties.created = data.generated_at.astimezone(VIETNAM).replace(tzinfo=None)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
