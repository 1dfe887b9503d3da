"""The report as a Word document laid out as a Vietnamese administrative document.

Layout after Decree 30/2020/NĐ-CP (Appendix I): A4, margins top and bottom 20 mm, left 30 mm,
right 15 mm; Times New Roman; the two-column header block (governing and issuing body on the
left, national title and motto on the right, each with a short rule under it), the number
and the place-and-date line, the title and subject, the body, and the recipients ("Nơi
nhận") beside the signature block; page numbers at the top centre from the second page.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.table import Table, _Cell
from flask_babel import gettext as _

import analysis
from webapp.periods import VIETNAM
from webapp.reports import labels
from webapp.reports.chart import indicator_chart
from webapp.reports.data import QUOTED_COMMENTS, Breakdown, Figure, Line, ReportData
from webapp.reports.insights import MIN_FOR_SHARE
from webapp.reports.issuer import Issuer, issuer_of
from webapp.safe_text import strip_unsafe
from webapp.urls import public_url

FONT = "Times New Roman"
BODY_PT = 13
TABLE_PT = 11
#: Usable width of an A4 page with the decree's left (30 mm) and right (15 mm) margins.
TEXT_WIDTH_MM = 165
HEADER_LEFT_MM = 68
HEADER_RIGHT_MM = TEXT_WIDTH_MM - HEADER_LEFT_MM
LANGUAGE_TAGS = {"vi": "vi-VN", "en": "en-GB"}
#: Elements that follow w:pBdr in w:pPr, and w:tblBorders in w:tblPr (WordprocessingML schema order).
PPR_AFTER_BORDER = (
    "w:shd",
    "w:tabs",
    "w:suppressAutoHyphens",
    "w:kinsoku",
    "w:wordWrap",
    "w:overflowPunct",
    "w:topLinePunct",
    "w:autoSpaceDE",
    "w:autoSpaceDN",
    "w:bidi",
    "w:adjustRightInd",
    "w:snapToGrid",
    "w:spacing",
    "w:ind",
    "w:contextualSpacing",
    "w:mirrorIndents",
    "w:suppressOverlap",
    "w:jc",
    "w:textDirection",
    "w:textAlignment",
    "w:textboxTightWrap",
    "w:outlineLvl",
    "w:divId",
    "w:cnfStyle",
    "w:rPr",
    "w:sectPr",
    "w:pPrChange",
)
TBLPR_AFTER_BORDERS = (
    "w:shd",
    "w:tblLayout",
    "w:tblCellMar",
    "w:tblLook",
    "w:tblCaption",
    "w:tblDescription",
    "w:tblPrChange",
)


# --- page, styles and small building blocks ---------------------------------------------------


def _set_font(rpr_parent, size: float | None = None) -> None:
    """Times New Roman for every script (theme fonts removed, or Word would keep Calibri)."""
    fonts = rpr_parent.get_or_add_rPr().get_or_add_rFonts()
    for attribute in ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme"):
        fonts.attrib.pop(qn(f"w:{attribute}"), None)
    for attribute in ("ascii", "hAnsi", "eastAsia", "cs"):
        fonts.set(qn(f"w:{attribute}"), FONT)


def _setup(document, locale: str) -> None:
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    section.header_distance = Mm(10)
    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    _set_font(normal.element)
    language = OxmlElement("w:lang")
    language.set(qn("w:val"), LANGUAGE_TAGS.get(locale, "vi-VN"))
    normal.element.get_or_add_rPr().append(language)
    normal.paragraph_format.space_after = Pt(6)
    normal.paragraph_format.line_spacing = 1.1
    for name, size in (("Heading 1", BODY_PT), ("Heading 2", BODY_PT), ("Caption", 12), ("Title", 14)):
        style = document.styles[name]
        style.font.name = FONT
        style.font.size = Pt(size)
        style.font.bold = name != "Caption"
        style.font.italic = name == "Caption"
        style.font.color.rgb = RGBColor(0, 0, 0)
        _set_font(style.element)
        style.paragraph_format.space_before = Pt(6 if name != "Title" else 0)
        style.paragraph_format.space_after = Pt(6)
        style.paragraph_format.keep_with_next = name != "Caption"
    title = document.styles["Title"]
    title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    # The default Title style draws a coloured line under itself.
    borders = title.element.get_or_add_pPr().find(qn("w:pBdr"))
    if borders is not None:
        borders.getparent().remove(borders)
    _page_numbers(section)


def _page_numbers(section) -> None:
    """The page number at the top centre, from the second page on (Decree 30/2020, Appendix I)."""
    section.different_first_page_header_footer = True
    paragraph = section.header.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "2"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def _paragraph(
    container,
    text: str = "",
    *,
    bold: bool = False,
    italic: bool = False,
    size: float | None = None,
    align=None,
    space_after: float | None = None,
    style: str | None = None,
):
    paragraph = container.add_paragraph(style=style)
    if text:
        # Stored text (a comment, a reply, a unit's name) may hold characters XML cannot carry.
        run = paragraph.add_run(strip_unsafe(text))
        run.bold = bold or None
        run.italic = italic or None
        if size is not None:
            run.font.size = Pt(size)
    if align is not None:
        paragraph.alignment = align
    if space_after is not None:
        paragraph.paragraph_format.space_after = Pt(space_after)
        paragraph.paragraph_format.space_before = Pt(0)
    return paragraph


def _rule(cell: _Cell, width_mm: float, length_mm: float) -> None:
    """A short centred line: an empty paragraph whose bottom border is ``length_mm`` long."""
    paragraph = cell.add_paragraph()
    indent = Mm(max(0.0, (width_mm - length_mm) / 2 - 1))
    paragraph.paragraph_format.left_indent = indent
    paragraph.paragraph_format.right_indent = indent
    paragraph.paragraph_format.space_after = Pt(0)
    paragraph.paragraph_format.space_before = Pt(0)
    paragraph.paragraph_format.line_spacing = Pt(2)
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("val", "single"), ("sz", "6"), ("space", "1"), ("color", "000000")):
        bottom.set(qn(f"w:{key}"), value)
    borders.append(bottom)
    # Schema order: the border comes before spacing and indentation in w:pPr.
    paragraph._p.get_or_add_pPr().insert_element_before(borders, *PPR_AFTER_BORDER)


def _no_borders(table: Table) -> None:
    properties = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    properties.insert_element_before(borders, *TBLPR_AFTER_BORDERS)


def _widths(table: Table, widths_mm: Sequence[float]) -> None:
    table.autofit = False
    for row in table.rows:
        for cell, width in zip(row.cells, widths_mm, strict=False):
            cell.width = Mm(width)


def _cell_text(
    cell: _Cell, text: str, *, bold: bool = False, italic: bool = False, size: float = TABLE_PT, align=None
) -> None:
    paragraph = cell.paragraphs[0]
    paragraph.paragraph_format.space_after = Pt(0)
    paragraph.paragraph_format.line_spacing = 1.0
    if align is not None:
        paragraph.alignment = align
    run = paragraph.add_run(strip_unsafe(text))
    run.font.size = Pt(size)
    run.bold = bold or None
    run.italic = italic or None


def _repeat_header(table: Table) -> None:
    """The header row repeats on every page and no row breaks across pages."""
    for index, row in enumerate(table.rows):
        properties = row._tr.get_or_add_trPr()
        cant_split = OxmlElement("w:cantSplit")
        properties.append(cant_split)
        if index == 0:
            header = OxmlElement("w:tblHeader")
            properties.append(header)


def _caption(document, text: str) -> str:
    """A table or figure caption above it; returns the text for the table's own caption (read by screen readers)."""
    _paragraph(document, text, style="Caption", align=WD_ALIGN_PARAGRAPH.CENTER)
    return text


def _data_table(
    document,
    caption: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str] | str],
    widths_mm: Sequence[float],
    numeric: set[int] = frozenset(),
) -> Table:
    """A gridded table; a row given as a single string spans every column (a group heading)."""
    table = document.add_table(rows=1, cols=len(headers))
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    title = OxmlElement("w:tblCaption")
    title.set(qn("w:val"), strip_unsafe(caption)[:255])
    table._tbl.tblPr.insert_element_before(title, "w:tblDescription", "w:tblPrChange")
    for cell, header in zip(table.rows[0].cells, headers, strict=True):
        _cell_text(cell, header, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    for values in rows:
        cells = table.add_row().cells
        if isinstance(values, str):
            merged = cells[0].merge(cells[-1])
            _cell_text(merged, values, bold=True, italic=True)
            continue
        for i, (cell, value) in enumerate(zip(cells, values, strict=True)):
            _cell_text(cell, value, align=WD_ALIGN_PARAGRAPH.RIGHT if i in numeric else None)
    _widths(table, widths_mm)
    _repeat_header(table)
    _paragraph(document, space_after=0)
    return table


# --- cells of a figure -----------------------------------------------------------------------


def _rate_cells(figure: Figure | None) -> list[str]:
    """Rate, interval, ratings: a suppressed figure shows its count only, never a rate."""
    if figure is None:
        return [_("Not published"), "", ""]
    if figure.suppressed:
        return [_("Not enough data"), "", labels.count(figure.n)]
    interval = "" if figure.census else labels.interval(figure.ci_low, figure.ci_high, figure.score)
    return [labels.rate(figure.estimate, figure.score), interval, labels.count(figure.n)]


def _status_cell(figure: Figure | None) -> str:
    if figure is None:
        return ""
    if figure.target is None:
        return "" if figure.suppressed else _("No target set")
    if figure.suppressed:
        return labels.status_word(figure.status)
    return _(
        "%(status)s (target %(target)s)", status=labels.status_word(figure.status), target=labels.target(figure.target)
    )


def _previous_cell(figure: Figure | None) -> str:
    if figure is None:
        return _("Not published")
    if figure.suppressed:
        return _("Not enough data (%(n)s ratings)", n=labels.count(figure.n))
    return _("%(rate)s (%(n)s ratings)", rate=labels.rate(figure.estimate, figure.score), n=labels.count(figure.n))


def _change_cell(figure: Figure | None) -> str:
    if figure is None or figure.change is None:
        return ""
    change = figure.change
    return labels.change_text(change.difference, change.ci_low, change.ci_high)


def _figure_row(label: str, line: Line) -> list[str]:
    return [
        label,
        *_rate_cells(line.current),
        _status_cell(line.current),
        _previous_cell(line.previous),
        _change_cell(line.current),
    ]


def _figure_headers(first: str, data: ReportData) -> list[str]:
    return [
        first,
        _("Rate"),
        _("%(level)s interval", level="95%"),
        _("Ratings"),
        _("Against the target"),
        _("Previous period (%(period)s)", period=data.previous_period.label),
        _("Change (percentage points)"),
    ]


FIGURE_WIDTHS = (38, 17, 25, 15, 25, 22, 23)


# --- the parts of the report -----------------------------------------------------------------


def _issuer_rule_mm(issuer: Issuer) -> float:
    """The rule under the issuing body: a third to a half of its (longest) line, as the decree asks.

    Capitals of 13 pt bold Times New Roman are about 3 mm wide; a line holds about 22 of them.
    """
    longest = max(min(len(line), 22) for line in issuer.name_lines) * 3.0
    return min(30.0, max(10.0, 0.4 * longest))


def _header_block(document, data: ReportData, issuer: Issuer) -> None:
    table = document.add_table(rows=2, cols=2)
    _no_borders(table)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    left, right = table.rows[0].cells
    _cell_text(left, issuer.governing, size=13, align=WD_ALIGN_PARAGRAPH.CENTER)
    for line in issuer.name_lines:
        paragraph = left.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.paragraph_format.space_after = Pt(0)
        run = paragraph.add_run(strip_unsafe(line))
        run.bold = True
        run.font.size = Pt(13)
    _rule(left, HEADER_LEFT_MM, _issuer_rule_mm(issuer))
    _cell_text(right, _("SOCIALIST REPUBLIC OF VIET NAM"), bold=True, size=13, align=WD_ALIGN_PARAGRAPH.CENTER)
    motto = right.add_paragraph()
    motto.alignment = WD_ALIGN_PARAGRAPH.CENTER
    motto.paragraph_format.space_after = Pt(0)
    run = motto.add_run(_("Independence - Freedom - Happiness"))
    run.bold = True
    run.font.size = Pt(14)
    _rule(right, HEADER_RIGHT_MM, 62)
    number, place = table.rows[1].cells
    _cell_text(
        number,
        _("No.: %(blank)s/%(code)s", blank="\u00a0" * 8, code=issuer.number_code),
        size=13,
        align=WD_ALIGN_PARAGRAPH.CENTER,
    )
    day = data.generated_at.astimezone(VIETNAM).date()
    _cell_text(place, labels.place_and_date(day), italic=True, size=14, align=WD_ALIGN_PARAGRAPH.CENTER)
    _widths(table, (HEADER_LEFT_MM, HEADER_RIGHT_MM))
    _paragraph(document, space_after=0)


def _title(document, data: ReportData, issuer: Issuer) -> None:
    title = _paragraph(document, _("REPORT"), style="Title", space_after=0)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    subject = _paragraph(document, _subject(data), bold=True, size=14, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=0)
    subject.paragraph_format.keep_with_next = True
    rule_table = document.add_table(rows=1, cols=1)
    _no_borders(rule_table)
    rule_table.alignment = WD_TABLE_ALIGNMENT.CENTER
    cell = rule_table.rows[0].cells[0]
    cell.paragraphs[0].paragraph_format.space_after = Pt(0)
    _rule(cell, TEXT_WIDTH_MM, 40)
    _widths(rule_table, (TEXT_WIDTH_MM,))
    _paragraph(
        document,
        _(
            "Carrying out Decision 210/QĐ-UBND of 9 February 2012 of the Sơn La Provincial People's Committee "
            "(public administration reform plan), %(issuer)s reports the results of measuring satisfaction with "
            "%(scope)s in %(period)s, as follows:",
            issuer=issuer.in_sentence,
            scope=_scope(data),
            period=labels.period_name(data.period),
        ),
        align=WD_ALIGN_PARAGRAPH.JUSTIFY,
    )


def _scope(data: ReportData) -> str:
    if data.unit is None:
        return _("the public services of %(province)s", province=data.scope_name)
    return _("the service of %(unit)s", unit=data.scope_name)


def _subject(data: ReportData) -> str:
    return _(
        "Results of measuring the satisfaction of citizens and organisations with %(scope)s in %(period)s",
        scope=_scope(data),
        period=labels.period_name(data.period),
    )


class _Numbering:
    """Section headings numbered I, II, III… as administrative reports are."""

    NUMERALS = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")

    def __init__(self, document) -> None:
        self.document = document
        self.count = 0

    def heading(self, text: str) -> None:
        self.count += 1
        self.document.add_heading(strip_unsafe(f"{self.NUMERALS[self.count - 1]}. {text.upper()}"), level=1)


def _overview(document, data: ReportData, number: _Numbering) -> None:
    number.heading(_("General information"))
    snapshot = data.snapshot
    published = labels.short_date(labels.vietnam_date(snapshot.published_at))
    _paragraph(
        document,
        _(
            "Scope: %(scope)s. Period: %(period)s (%(label)s), compared with the previous period of the same length, "
            "%(previous)s.",
            scope=data.scope_name,
            period=labels.period_name(data.period),
            label=data.period.label,
            previous=data.previous_period.label,
        ),
        align=WD_ALIGN_PARAGRAPH.JUSTIFY,
    )
    _paragraph(
        document,
        _(
            "Every figure comes from the published results of %(period)s (revision %(revision)s, published on %(date)s, "
            "methodology version %(version)s), as shown on the public site.",
            period=data.period.label,
            revision=snapshot.revision,
            date=published,
            version=snapshot.methodology_version,
        ),
        align=WD_ALIGN_PARAGRAPH.JUSTIFY,
    )
    if snapshot.reason:
        _paragraph(document, _("Reason for this revision: %(reason)s", reason=snapshot.reason))
    if data.previous_snapshot is None:
        _paragraph(
            document,
            _(
                "The previous period, %(period)s, has not been published: no comparison is given.",
                period=data.previous_period.label,
            ),
        )


def _indicators(document, data: ReportData, number: _Numbering) -> None:
    number.heading(_("Results by indicator"))
    if not data.indicators:
        _paragraph(
            document,
            _(
                "No figure has been published for %(scope)s in %(period)s.",
                scope=data.scope_name,
                period=data.period.label,
            ),
        )
        return
    rows = [
        _figure_row(line.label + (f" ({line.note.rstrip('.')})" if line.note else ""), line) for line in data.indicators
    ]
    caption = _caption(
        document, _("Table %(number)s. Satisfaction by indicator, %(period)s", number=1, period=data.period.label)
    )
    _data_table(document, caption, _figure_headers(_("Indicator"), data), rows, FIGURE_WIDTHS, numeric={1, 2, 3})
    # The chart is of shares: neither the coverage count nor a mean score 1–5 goes on its percent axis.
    satisfaction = [
        line
        for line in data.indicators
        if not any(f is not None and (f.census or f.score) for f in (line.current, line.previous))
    ]
    chart = indicator_chart(satisfaction, data.period.label, data.previous_period.label)
    if chart is None:
        _paragraph(document, _("No chart: no rate could be published for this period or the previous one."))
        return
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.keep_with_next = True
    shape = paragraph.add_run().add_picture(io.BytesIO(chart.png), width=Mm(150))
    shape._inline.docPr.set("descr", strip_unsafe(chart.description))
    shape._inline.docPr.set("title", _("Chart of the indicators"))
    _caption(
        document,
        _(
            "Figure 1. Rate of each indicator with its 95%% interval: %(current)s (circles) and %(previous)s (squares); "
            "dashed line: the target.",
            current=data.period.label,
            previous=data.previous_period.label,
        ),
    )
    _paragraph(
        document,
        _(
            "How to read the status: target met when the whole %(level)s interval is above the target; below target "
            "when the whole interval is below it; not yet clear when the interval includes the target; not enough data "
            "when fewer than 30 ratings (or an effective size under 30) were received, in which case only the count is "
            "given.",
            level="95%",
        ),
        italic=True,
        size=12,
        align=WD_ALIGN_PARAGRAPH.JUSTIFY,
    )


def _aspects(document, data: ReportData, number: _Numbering, table_number: int) -> int:
    number.heading(_("Results by aspect of the service"))
    if not data.aspects:
        _paragraph(
            document,
            _(
                "No aspect rate has been published for %(scope)s in %(period)s.",
                scope=data.scope_name,
                period=data.period.label,
            ),
        )
        return table_number
    for group in data.aspects:
        table_number += 1
        caption = _caption(
            document,
            _(
                "Table %(number)s. Aspects of the service: %(indicator)s",
                number=table_number,
                indicator=group.indicator,
            ),
        )
        rows = [_figure_row(line.label, line) for line in group.lines]
        _data_table(document, caption, _figure_headers(_("Aspect"), data), rows, FIGURE_WIDTHS, numeric={1, 2, 3})
    return table_number


def _breakdown_table(document, data: ReportData, breakdown: Breakdown, table_number: int) -> None:
    caption = _caption(
        document,
        _(
            "Table %(number)s. %(title)s, %(period)s",
            number=table_number,
            title=breakdown.title,
            period=data.period.label,
        ),
    )
    if breakdown.note:
        _paragraph(document, breakdown.note, italic=True, size=12, align=WD_ALIGN_PARAGRAPH.JUSTIFY)
    rows: list[Sequence[str] | str] = []
    current_indicator = None
    for line in breakdown.lines:
        if line.indicator != current_indicator:
            rows.append(line.indicator)
            current_indicator = line.indicator
        rows.append(_figure_row(line.label, line))
    _data_table(
        document, caption, _figure_headers(breakdown.domain_header, data), rows, FIGURE_WIDTHS, numeric={1, 2, 3}
    )


def _breakdowns(document, data: ReportData, number: _Numbering, table_number: int) -> int:
    number.heading(_("Results by service and area") if data.unit is None else _("Results by service"))
    for breakdown in data.breakdowns:
        if not breakdown.lines:
            _paragraph(document, _("%(title)s: no published figure.", title=breakdown.title))
            continue
        table_number += 1
        _breakdown_table(document, data, breakdown, table_number)
    return table_number


def _response_rates(document, data: ReportData, number: _Numbering, table_number: int) -> int:
    number.heading(_("Response rate"))
    lines = [line for line in data.indicators if line.current is not None and line.current.response_rate is not None]
    if not lines:
        _paragraph(document, _("No transaction counts were imported for this period: no response rate is given."))
        return table_number
    table_number += 1
    caption = _caption(
        document,
        _(
            "Table %(number)s. Ratings received against services delivered, %(period)s",
            number=table_number,
            period=data.period.label,
        ),
    )
    rows = [
        [
            line.label,
            labels.count(line.current.n),
            labels.count(line.current.transactions),
            labels.rate(line.current.response_rate),
        ]
        for line in lines
    ]
    headers = [_("Indicator"), _("Ratings"), _("Services delivered (transaction counts)"), _("Response rate")]
    _data_table(document, caption, headers, rows, (75, 25, 40, 25), numeric={1, 2, 3})
    return table_number


def _link_rates(document, data: ReportData, table_number: int) -> int:
    """Survey links issued, delivered and answered per unit and service (under the response rate heading)."""
    _paragraph(
        document,
        _(
            "Survey links: exact counts of the single-use links issued in %(period)s, delivered by SMS, Zalo or "
            "e-mail, and answered. Response rate: the share of the links issued in the period answered so far "
            "(n = links issued).",
            period=data.period.label,
        ),
        align=WD_ALIGN_PARAGRAPH.JUSTIFY,
    )
    if not data.link_rates:
        _paragraph(document, _("No survey link was issued or answered in %(period)s.", period=data.period.label))
        return table_number
    table_number += 1
    caption = _caption(
        document,
        _(
            "Table %(number)s. Survey links by unit and service, %(period)s",
            number=table_number,
            period=data.period.label,
        ),
    )
    rows = [
        [
            row.unit.name(data.locale),
            row.service.name(data.locale),
            labels.count(row.issued),
            labels.count(row.delivered) if row.delivered is not None else "–",
            labels.count(row.answered),
            f"{labels.rate(row.rate)} ({labels.count(row.n)})" if row.rate is not None else "–",
        ]
        for row in data.link_rates
    ]
    headers = [
        _("Unit"),
        _("Service"),
        _("Links issued"),
        _("Delivered"),
        _("Answered in the period"),
        _("Response rate (n)"),
    ]
    _data_table(document, caption, headers, rows, (45, 40, 20, 20, 20, 25), numeric={2, 3, 4, 5})
    return table_number


def _comments(document, data: ReportData, number: _Numbering) -> None:
    number.heading(_("Comments from citizens and organisations"))
    summary = data.comments
    _paragraph(
        document,
        _(
            "Comments received in %(period)s: %(total)s, of which %(published)s published, %(hidden)s not published "
            "after review and %(pending)s waiting for review.",
            period=data.period.label,
            total=labels.count(summary.total),
            published=labels.count(summary.published),
            hidden=labels.count(summary.hidden),
            pending=labels.count(summary.pending),
        ),
        align=WD_ALIGN_PARAGRAPH.JUSTIFY,
    )
    if not summary.quoted:
        return
    _paragraph(document, _("Published comments (at most %(count)s, those with a reply first):", count=QUOTED_COMMENTS))
    for i, comment in enumerate(summary.quoted, start=1):
        paragraph = _paragraph(document, f"{i}. “{comment.text}” ", align=WD_ALIGN_PARAGRAPH.JUSTIFY, space_after=2)
        detail = paragraph.add_run(strip_unsafe(f"({comment.service}, {labels.short_date(comment.answered_on)})"))
        detail.italic = True
        if comment.reply:
            reply = _paragraph(
                document, _("Reply: %(reply)s", reply=comment.reply), italic=True, align=WD_ALIGN_PARAGRAPH.JUSTIFY
            )
            reply.paragraph_format.left_indent = Mm(10)


def _insights(document, data: ReportData, number: _Numbering, table_number: int) -> int:
    """Issue #16: what goes with overall satisfaction, what people wrote about, what the units will change."""
    insights = data.insights
    if insights is None:
        return table_number
    number.heading(_("From scores to action: key drivers, comment themes and action plans"))
    _paragraph(
        document,
        _(
            "Key drivers: for each aspect, its published satisfaction rate and how strongly satisfaction with it goes "
            "with overall satisfaction, the other aspects held equal (log odds ratio of a design-based logistic "
            "regression, with its %(level)s interval). This is an association, not a cause. Aspects that matter most "
            "and score under the target come first to fix.",
            level="95%",
        ),
        align=WD_ALIGN_PARAGRAPH.JUSTIFY,
    )
    if not insights.drivers:
        _paragraph(document, _("Too few responses in %(period)s for a key-driver model.", period=data.period.label))
    for group in insights.drivers:
        table_number += 1
        caption = _caption(
            document,
            _("Table %(number)s. Key drivers: %(indicator)s", number=table_number, indicator=group.indicator),
        )
        if group.scope == "sector":
            _paragraph(
                document, _("Too few responses for a model of this unit alone: the model of its sector."), italic=True
            )
        rows = [
            [
                str(line.rank or ""),
                line.aspect,
                f"{labels.rate(line.rate)} ({labels.interval(line.rate_low, line.rate_high)})",
                f"{labels.decimal(line.coefficient)} ({labels.decimal_interval(line.ci_low, line.ci_high)})"
                if line.coefficient is not None
                else _("not estimable"),
                labels.decimal(line.odds_ratio),
                labels.quadrant_name(line.quadrant),
                labels.count(line.n),
            ]
            for line in group.lines
        ]
        headers = [
            _("Rank"),
            _("Aspect"),
            _("Satisfied (%(level)s interval)", level="95%"),
            _("Importance (%(level)s interval)", level="95%"),
            _("Odds ratio"),
            _("Priority"),
            _("Ratings"),
        ]
        _data_table(document, caption, headers, rows, (12, 38, 30, 32, 17, 22, 14), numeric={0, 2, 3, 4, 6})
    table_number += 1
    caption = _caption(
        document,
        _("Table %(number)s. Themes of the comments, %(period)s", number=table_number, period=data.period.label),
    )
    if insights.themes:
        _paragraph(
            document,
            _(
                "%(count)s comments were sorted into themes by the published rules (a comment can have several); "
                "moderators correct them. The share of complaints is given from %(minimum)s mentions.",
                count=labels.count(insights.themed_comments),
                minimum=MIN_FOR_SHARE,
            ),
            align=WD_ALIGN_PARAGRAPH.JUSTIFY,
        )
        rows = [
            [
                line.theme,
                labels.count(line.mentions),
                labels.count(line.negative),
                labels.rate(line.share_negative) if line.share_negative is not None else "",
            ]
            for line in insights.themes
        ]
        _data_table(
            document,
            caption,
            [_("Theme"), _("Comments"), _("Complaints"), _("Share of complaints")],
            rows,
            (75, 30, 30, 30),
            numeric={1, 2, 3},
        )
    else:
        _paragraph(document, _("No comment in %(period)s.", period=data.period.label))
    table_number += 1
    caption = _caption(document, _("Table %(number)s. Action plans: you said — we will — we did", number=table_number))
    if not insights.actions:
        _paragraph(document, _("No action plan has been recorded."))
        return table_number
    rows = []
    for line in insights.actions:
        status = line.status + (" — " + _("overdue") if line.overdue else "")
        done = line.outcome or line.latest_note or ""
        rows.append(
            [
                f"{line.subject} ({line.unit})",
                line.said,
                f"{line.action} — {line.responsible}",
                f"{labels.short_date(line.due_on)}; {status}",
                done,
            ]
        )
    headers = [_("Subject"), _("You said"), _("We will (responsible)"), _("Due; status"), _("We did / latest note")]
    _data_table(document, caption, headers, rows, (30, 35, 40, 25, 35))
    return table_number


def _method(document, data: ReportData, number: _Numbering) -> None:
    number.heading(_("Method and source"))
    for text in (
        _(
            "A respondent is satisfied when the answer is 4 or 5 on the five-point scale (or one of the two satisfied "
            "faces at the counter kiosk); answers of “not used / no opinion” are left out."
        ),
        _(
            "Rates are weighted by the number of services each unit delivered (transaction counts), and the %(level)s "
            "interval is computed for the survey design with the published method (%(method)s, see the methodology "
            "page). The change from the previous period is a difference of percentage points with its own %(level)s "
            "interval, built from the two published intervals (Newcombe's method).",
            level="95%",
            method=analysis.DEFAULT_CI_METHOD,
        ),
        _(
            "Cells with fewer than %(hidden)s ratings are never shown; with fewer than %(count_only)s ratings (or an "
            "effective size under %(count_only)s) only the count is given.",
            hidden=analysis.MIN_N_SHOW,
            count_only=analysis.MIN_N_PUBLISH,
        ),
        _("Source: Sơn La Satisfaction Index, published results, %(url)s", url=public_url("/methodology")),
    ):
        _paragraph(document, text, align=WD_ALIGN_PARAGRAPH.JUSTIFY)


def _recipients(document, issuer: Issuer) -> None:
    _paragraph(document, space_after=0)
    table = document.add_table(rows=1, cols=2)
    _no_borders(table)
    left, right = table.rows[0].cells
    _cell_text(left, _("Recipients:"), bold=True, italic=True, size=12)
    for recipient in issuer.recipients:
        paragraph = left.add_paragraph()
        paragraph.paragraph_format.space_after = Pt(0)
        run = paragraph.add_run(strip_unsafe(f"- {recipient}"))
        run.font.size = Pt(11)
    _cell_text(right, issuer.signer_title, bold=True, size=13, align=WD_ALIGN_PARAGRAPH.CENTER)
    note = right.add_paragraph()
    note.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = note.add_run(_("(Signature, full name and seal)"))
    run.italic = True
    run.font.size = Pt(12)
    _widths(table, (85, TEXT_WIDTH_MM - 85))


def write_docx(data: ReportData) -> bytes:
    """The report of ``data`` as a .docx file (call inside :func:`flask_babel.force_locale`)."""
    document = Document()
    _setup(document, data.locale)
    issuer = issuer_of(data.unit)
    properties = document.core_properties
    properties.title = strip_unsafe(_subject(data))
    properties.subject = data.period.label
    properties.author = strip_unsafe(issuer.in_sentence)
    properties.language = LANGUAGE_TAGS.get(data.locale, "vi-VN")
    properties.created = data.generated_at.replace(tzinfo=None) if isinstance(data.generated_at, datetime) else None
    _header_block(document, data, issuer)
    _title(document, data, issuer)
    number = _Numbering(document)
    _overview(document, data, number)
    _indicators(document, data, number)
    table_number = _aspects(document, data, number, 1)
    table_number = _breakdowns(document, data, number, table_number)
    table_number = _response_rates(document, data, number, table_number)
    table_number = _link_rates(document, data, table_number)
    _comments(document, data, number)
    _insights(document, data, number, table_number)
    _method(document, data, number)
    _recipients(document, issuer)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
