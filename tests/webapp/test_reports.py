"""Periodic reports: the Word and Excel files hold exactly the published figures, in both languages."""

from __future__ import annotations

import io
import re
from datetime import datetime

import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from flask_babel import force_locale, format_percent
from openpyxl import load_workbook
from sqlalchemy import select

from tests.conftest import empty_all_tables
from tests.webapp.published_demo import NOW, PERIOD, PREVIOUS, publish_demo_quarters
from webapp.models import Indicator, PublishedEstimate, PublishedSnapshot, Response, Unit

MAIN = ("sat-procedures", "sat-agencies", "sat-health", "sat-education")


@pytest.fixture(scope="module")
def published(app):
    """A small demo data set with 2026-Q2 and 2026-Q3 published, and a few reviewed comments."""
    from webapp.extensions import db
    from webapp.models.feedback import CommentReview

    with app.app_context():
        # Start from no review at all (the demo seed moderates some comments), then review three.
        commented = publish_demo_quarters(responses=6000, seed=5)
        assert len(commented) >= 6, "the demo seed should give comments"
        db.session.add_all(
            [
                CommentReview(
                    response_id=commented[0].id,
                    status="published",
                    edited_text="Văn bản đã biên tập [đã ẩn]",
                    reply="Chúng tôi đã bố trí thêm quầy.",
                    replied_at=NOW,
                ),
                CommentReview(response_id=commented[1].id, status="published"),
                CommentReview(response_id=commented[2].id, status="hidden", hidden_reason="lời lẽ xúc phạm"),
            ]
        )
        db.session.commit()
        yield db
        db.session.remove()
        empty_all_tables(db)


def _snapshot_rows(db, period: str, domain_type: str, domain: str | None = None) -> list[PublishedEstimate]:
    snapshot = db.session.scalar(
        select(PublishedSnapshot).where(PublishedSnapshot.period == period).order_by(PublishedSnapshot.revision.desc())
    )
    query = select(PublishedEstimate).where(
        PublishedEstimate.snapshot_id == snapshot.id, PublishedEstimate.domain_type == domain_type
    )
    if domain is not None:
        query = query.where(PublishedEstimate.domain == domain)
    return db.session.scalars(query).all()


def _unit_with(db, shown: bool) -> tuple[str, PublishedEstimate]:
    """A unit with a published rate of a main indicator (``shown``) or only a count."""
    rows = [r for r in _snapshot_rows(db, PERIOD, "unit") if r.metric in MAIN and (r.estimate is not None) == shown]
    assert rows, "the data set needs both kinds of unit rows"
    row = max(rows, key=lambda r: (r.n, r.domain))
    return row.domain, row


def _build(unit, fmt, locale="vi", period=PERIOD):
    from webapp.reports import build_report

    return build_report(unit, period, fmt, locale=locale, now=NOW)


def _docx(report):
    return Document(io.BytesIO(report.content))


def _rate(value: float, locale: str) -> str:
    with force_locale(locale):
        return format_percent(value, format="#,##0.0%")


def _row_of(table, label: str):
    return next(row for row in table.rows[1:] if row.cells[0].text.startswith(label))


# --- DOCX -------------------------------------------------------------------------------------


def test_docx_has_the_administrative_header_block_page_and_font(published):
    report = _build(None, "docx")
    assert report.filename == "bao-cao-sl-2026-Q3.docx"
    assert report.mimetype.endswith("wordprocessingml.document")
    document = _docx(report)
    section = document.sections[0]
    assert abs(section.page_width - Mm(210)) < Mm(0.1) and abs(section.page_height - Mm(297)) < Mm(0.1)  # A4
    assert Mm(20) <= section.top_margin <= Mm(25) and Mm(20) <= section.bottom_margin <= Mm(25)
    # Word stores margins in twentieths of a point: 15 mm is kept as 14.99 mm.
    assert Mm(30) <= section.left_margin <= Mm(35) and Mm(14.9) <= section.right_margin <= Mm(20)
    normal = document.styles["Normal"]
    assert normal.font.name == "Times New Roman" and Pt(13) <= normal.font.size <= Pt(14)
    for style in ("Heading 1", "Title", "Caption"):
        fonts = document.styles[style].element.rPr.rFonts
        assert fonts.get(qn("w:ascii")) == "Times New Roman" and fonts.get(qn("w:asciiTheme")) is None
    every_run = [r for p in document.paragraphs for r in p.runs] + [
        r for t in document.tables for row in t.rows for c in row.cells for p in c.paragraphs for r in p.runs
    ]
    assert {r.font.name for r in every_run} <= {None, "Times New Roman"}

    header = document.tables[0]
    left, right = header.rows[0].cells
    assert [p.text for p in left.paragraphs][:2] == ["UBND TỈNH SƠN LA", "SỞ NỘI VỤ"]
    assert left.paragraphs[1].runs[0].bold
    assert [p.text for p in right.paragraphs][:2] == [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
    ]
    assert all(p.runs[0].bold for p in right.paragraphs[:2])
    assert all(p.alignment == WD_ALIGN_PARAGRAPH.CENTER for p in left.paragraphs + right.paragraphs if p.text)
    # The short rules under the issuing body and under the motto.
    for cell in (left, right):
        assert cell.paragraphs[-1]._p.find(f"{qn('w:pPr')}/{qn('w:pBdr')}/{qn('w:bottom')}") is not None
    number, place = header.rows[1].cells
    assert re.fullmatch(r"Số:\s+/BC-SNV", number.text.replace("\u00a0", " "))
    assert place.text == "Sơn La, ngày 28 tháng 11 năm 2026" and place.paragraphs[0].runs[0].italic
    texts = [p.text for p in document.paragraphs]
    assert "BÁO CÁO" in texts
    assert any(t.startswith("Kết quả đo lường sự hài lòng") and "quý III năm 2026" in t for t in texts)
    signature = document.tables[-1]
    assert signature.rows[0].cells[0].paragraphs[0].text == "Nơi nhận:"
    assert "GIÁM ĐỐC" in signature.rows[0].cells[1].text


def test_docx_tables_hold_the_published_figures_with_the_previous_period(published):
    unit, _ = _unit_with(published, shown=True)
    current = {r.metric: r for r in _snapshot_rows(published, PERIOD, "unit", unit)}
    previous = {r.metric: r for r in _snapshot_rows(published, PREVIOUS, "unit", unit)}
    report = _build(unit, "docx")
    assert report.filename == f"bao-cao-{unit}-{PERIOD}.docx"
    document = _docx(report)
    table = document.tables[2]  # header block, rule under the title, then table 1
    header = table.rows[0]
    assert header._tr.trPr.find(qn("w:tblHeader")) is not None, "the header row repeats on every page"
    from webapp.models import Indicator

    names = {i.code: i.name_vi for i in published.session.scalars(select(Indicator))}
    checked = 0
    for metric in MAIN:
        row = current.get(metric)
        if row is None:
            continue
        cells = [c.text for c in _row_of(table, names[metric]).cells]
        assert cells[3] == f"{row.n:,}".replace(",", ".")
        if row.estimate is not None:
            assert cells[1] == _rate(row.estimate, "vi")
            assert cells[2] == f"{_rate(row.ci_low, 'vi')} – {_rate(row.ci_high, 'vi')}"
            assert cells[4].startswith(
                {"met": "Đạt mục tiêu", "below": "Chưa đạt mục tiêu", "inconclusive": "Chưa thể kết luận"}[row.status]
            )
            checked += 1
        before = previous.get(metric)
        if before is not None and before.estimate is not None:
            assert cells[5].startswith(_rate(before.estimate, "vi"))
        change = row.extra.get("change")
        if change:
            assert cells[6].startswith(f"{change['difference'] * 100:+.1f}".replace(".", ","))
    assert checked >= 1


def test_docx_suppressed_cells_show_the_count_and_no_rate(published):
    unit, row = _unit_with(published, shown=False)
    document = _docx(_build(unit, "docx"))
    from webapp.models import Indicator

    name = published.session.scalar(select(Indicator.name_vi).where(Indicator.code == row.metric))
    cells = [c.text for c in _row_of(document.tables[2], name).cells]
    assert cells[1] == "Chưa đủ dữ liệu" and cells[2] == ""
    assert cells[3] == f"{row.n:,}".replace(",", ".")
    assert not re.search(r"\d", cells[1] + cells[2] + cells[4] + cells[6]), cells


def test_docx_has_the_chart_with_a_text_alternative(published):
    province = {r.metric: r for r in _snapshot_rows(published, PERIOD, "province", "sl")}
    document = _docx(_build(None, "docx"))
    assert len(document.inline_shapes) == 1
    shape = document.inline_shapes[0]
    blob = shape._inline.graphic.graphicData.pic.blipFill.blip.embed
    image = document.part.related_parts[blob].blob
    assert image.startswith(b"\x89PNG")
    description = shape._inline.docPr.get("descr")
    assert _rate(province["sat-agencies"].estimate, "vi") in description


def test_docx_province_report_has_sector_commune_and_service_tables(published):
    document = _docx(_build(None, "docx"))
    captions = [p.text for p in document.paragraphs if p.style.name == "Caption"]
    for title in ("Theo lĩnh vực", "Theo xã, phường", "Theo nhóm dịch vụ"):
        assert any(title in caption for caption in captions), captions
    sector = next(r for r in _snapshot_rows(published, PERIOD, "sector", "health") if r.metric == "sat-health")
    texts = [" | ".join(c.text for c in row.cells) for t in document.tables for row in t.rows]
    assert any(t.startswith("Y tế | " + _rate(sector.estimate, "vi")) for t in texts)


def test_docx_comments_summary_counts_and_quotes_only_published_comments(published):
    document = _docx(_build(None, "docx"))
    text = "\n".join(p.text for p in document.paragraphs)
    total = (
        published.session.query(Response)
        .filter(Response.period == PERIOD, Response.comment.is_not(None), Response.comment != "")
        .count()
    )
    assert f"trong kỳ {PERIOD}: {total}, trong đó 2 ý kiến đã công khai, 1 ý kiến không công khai" in text
    assert f"{total - 3} ý kiến đang chờ xem xét" in text
    assert "“Văn bản đã biên tập [đã ẩn]”" in text and "Trả lời: Chúng tôi đã bố trí thêm quầy." in text
    quotes = [p.text for p in document.paragraphs if re.match(r"\d\. “", p.text)]
    assert len(quotes) == 2, "only the two published comments are quoted, never the hidden or pending ones"
    first_quote = text.index("1. “")
    assert text[first_quote:].startswith("1. “Văn bản đã biên tập"), "the comment with a reply comes first"


def test_english_docx_has_the_same_layout_in_english(published):
    report = _build(None, "docx", locale="en")
    assert report.filename == "report-sl-2026-Q3.docx"
    document = _docx(report)
    left, right = document.tables[0].rows[0].cells
    assert left.paragraphs[1].text == "DEPARTMENT OF HOME AFFAIRS"
    assert right.paragraphs[0].text == "SOCIALIST REPUBLIC OF VIET NAM"
    assert document.tables[0].rows[1].cells[1].text == "Sơn La, 28 November 2026"
    texts = [p.text for p in document.paragraphs]
    assert "REPORT" in texts and "I. GENERAL INFORMATION" in texts
    province = {r.metric: r for r in _snapshot_rows(published, PERIOD, "province", "sl")}
    table = document.tables[2]
    assert _row_of(table, "Satisfaction with the service of state administrative agencies").cells[1].text == _rate(
        province["sat-agencies"].estimate, "en"
    )
    assert document.tables[-1].rows[0].cells[0].paragraphs[0].text == "Recipients:"


def test_unit_report_header_names_the_unit_and_its_governing_body(published):
    unit_code, _ = _unit_with(published, shown=True)
    unit = published.session.scalar(select(Unit).where(Unit.code == unit_code))
    left = _docx(_build(unit_code, "docx")).tables[0].rows[0].cells[0]
    assert left.paragraphs[1].text.endswith(unit.name_vi.upper()) and left.paragraphs[1].runs[0].bold


# --- XLSX -------------------------------------------------------------------------------------


def _workbook(report):
    return load_workbook(io.BytesIO(report.content))


def _records(sheet) -> list[dict]:
    rows = list(sheet.iter_rows())
    headers = [c.value for c in rows[0]]
    return [{h: c for h, c in zip(headers, row, strict=True)} for row in rows[1:]]


def test_xlsx_sheets_numbers_and_formats(published):
    unit, _ = _unit_with(published, shown=True)
    current = {r.metric: r for r in _snapshot_rows(published, PERIOD, "unit", unit)}
    report = _build(unit, "xlsx")
    assert report.filename == f"bao-cao-{unit}-{PERIOD}.xlsx" and report.mimetype.endswith("spreadsheetml.sheet")
    book = _workbook(report)
    assert book.sheetnames == [
        "Chỉ số",
        "Khía cạnh",
        "Dịch vụ",
        "Tổng hợp ý kiến",
        "Ý kiến đã công khai",
        "Yếu tố tác động",
        "Chủ đề ý kiến",
        "Kế hoạch cải thiện",
        "Thông tin",
    ]
    sheet = book["Chỉ số"]
    assert sheet.freeze_panes == "A2"
    assert all(sheet.column_dimensions[letter].width >= 10 for letter in "ABCDEFGH")
    checked = 0
    for record in _records(sheet):
        row = current.get(record["Mã chỉ số"].value)
        if row is None:
            # Published only in the previous period (the three-face series ended): no rate now.
            assert record["Tỷ lệ"].value is None and record["Số lượt đánh giá"].value is None
            continue
        assert record["Số lượt đánh giá"].value == row.n and isinstance(record["Số lượt đánh giá"].value, int)
        rate = record["Tỷ lệ"]
        if row.extra.get("scale") == "score" and row.estimate is not None:
            # The Ministry of Health's mean score 1–5: a number, not a percentage, and no target.
            assert rate.value == pytest.approx(row.estimate) and rate.number_format == "0.00"
            assert record["Khoảng tin cậy 95%: cận dưới"].number_format == "0.00"
            assert record["So với mục tiêu"].value == "Chưa đặt mục tiêu"
            continue
        if row.estimate is None:
            assert rate.value is None and record["Khoảng tin cậy 95%: cận dưới"].value is None
            assert record["Ghi chú"].value.startswith("Chưa đủ dữ liệu")
        else:
            assert rate.value == pytest.approx(row.estimate, rel=1e-12) and rate.number_format == "0.0%"
            assert record["Khoảng tin cậy 95%: cận dưới"].value == pytest.approx(row.ci_low, rel=1e-12)
            assert record["Khoảng tin cậy 95%: cận trên"].value == pytest.approx(row.ci_high, rel=1e-12)
            assert record["Mục tiêu"].value == row.target and record["Mục tiêu"].number_format == "0.0%"
            checked += 1
        if row.extra.get("response_rate") is not None:
            assert record["Tỷ lệ phản hồi"].value == pytest.approx(row.extra["response_rate"], rel=1e-12)
            assert record["Tỷ lệ phản hồi"].number_format == "0.0%"
        if row.extra.get("change"):
            assert record["Thay đổi"].value == pytest.approx(row.extra["change"]["difference"], rel=1e-12)
    assert checked >= 1
    aspects = _records(book["Khía cạnh"])
    assert aspects
    for record in aspects:
        row = current[f"{record['Mã chỉ số'].value}/{record['Mã khía cạnh'].value}"]
        assert record["Tỷ lệ"].value == (None if row.estimate is None else pytest.approx(row.estimate, rel=1e-12))
    about = {r[0].value: r[1].value for r in book["Thông tin"].iter_rows(min_row=2)}
    assert about["Kỳ"] == PERIOD and about["Kỳ trước"] == PREVIOUS and about["Lần công bố"] == 1
    assert about["Thời điểm lập báo cáo"] == datetime(2026, 11, 28, 10, 0)


def test_xlsx_province_breakdowns_and_comments_in_english(published):
    book = _workbook(_build("sl", "xlsx", locale="en"))
    assert book.sheetnames == [
        "Indicators",
        "Aspects",
        "Sectors",
        "Communes and wards",
        "Services",
        "Comments summary",
        "Published comments",
        "Key drivers",
        "Comment themes",
        "Action plans",
        "About",
    ]
    sectors = {(r["Indicator code"].value, r["Code"].value): r for r in _records(book["Sectors"])}
    # Breakdown tables are of the satisfaction indicators; shares and indices are in the indicators sheet.
    satisfaction = set(published.session.scalars(select(Indicator.code).where(Indicator.kind == "satisfaction")))
    published_sectors = [r for r in _snapshot_rows(published, PERIOD, "sector") if r.metric in satisfaction]
    assert published_sectors and len(sectors) == len(published_sectors)
    for row in published_sectors:
        record = sectors[(row.metric, row.domain)]
        assert record["Ratings"].value == row.n
        assert record["Rate"].value == (None if row.estimate is None else pytest.approx(row.estimate, rel=1e-12))
    communes = _records(book["Communes and wards"])
    assert len(communes) == len([r for r in _snapshot_rows(published, PERIOD, "commune") if r.metric in MAIN])
    thin = [r for r in communes if r["Against the target"].value == "Not enough data"]
    assert thin and all(r["Rate"].value is None for r in thin)
    summary = {r[0].value: r[1].value for r in book["Comments summary"].iter_rows(min_row=2)}
    assert summary["Published"] == 2 and summary["Not published after review"] == 1
    assert summary["Total"] == summary["Waiting for review"] + 3
    quoted = _records(book["Published comments"])
    assert [r["Comment"].value for r in quoted][0] == "Văn bản đã biên tập [đã ẩn]"
    assert quoted[0]["Reply"].value == "Chúng tôi đã bố trí thêm quầy."
    assert len(quoted) == 2


# --- errors and the command -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit", "period", "fmt", "english"),
    [
        (None, "2026-Q1", "docx", "2026-Q1 has not been published yet."),
        ("no-such-unit", PERIOD, "docx", "There is no unit with the code no-such-unit."),
        ("d116", PERIOD, "xlsx", "d116 did not exist during 2026-Q3."),
        (None, "2026-Q7", "docx", "Write the period like 2026-Q3, 2026-H1 or 2026."),
        (None, PERIOD, "pdf", "Choose the format docx or xlsx."),
    ],
)
def test_reports_refuse_bad_requests_with_a_translated_message(published, unit, period, fmt, english):
    from webapp.reports import ReportError, build_report

    with pytest.raises(ReportError) as caught:
        build_report(unit, period, fmt, locale="vi")
    with force_locale("en"):
        assert str(caught.value) == english


def test_a_report_without_a_published_previous_period_says_so(published):
    document = _docx(_build(None, "docx", period=PREVIOUS))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "2026-Q1" in text
    rows = document.tables[2].rows[1:]
    assert rows and all(row.cells[5].text == "Không công bố" for row in rows)
    assert len(document.inline_shapes) == 1


def test_cli_writes_both_formats_and_fails_cleanly(published, app, tmp_path):
    runner = app.test_cli_runner()
    docx_path = tmp_path / "province.docx"
    result = runner.invoke(args=["report", "--unit", "sl", "--period", PERIOD, "-o", str(docx_path)])
    assert result.exit_code == 0, result.output
    assert (
        Document(str(docx_path)).tables[0].rows[0].cells[1].paragraphs[0].text == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    )
    xlsx_path = tmp_path / "unit.bin"
    unit, _ = _unit_with(published, shown=True)
    result = runner.invoke(
        args=["report", "--unit", unit, "--period", PERIOD, "--format", "xlsx", "-o", str(xlsx_path), "--lang", "en"]
    )
    assert result.exit_code == 0, result.output
    assert load_workbook(io.BytesIO(xlsx_path.read_bytes())).sheetnames[0] == "Indicators"

    missing = tmp_path / "missing.docx"
    result = runner.invoke(
        args=["report", "--unit", "no-such-unit", "--period", PERIOD, "-o", str(missing), "--lang", "en"]
    )
    assert result.exit_code == 1 and "There is no unit with the code no-such-unit." in result.output
    result = runner.invoke(args=["report", "--period", "2030", "-o", str(missing), "--lang", "en"])
    assert result.exit_code == 1 and "2030 has not been published yet." in result.output
    result = runner.invoke(args=["report", "--period", "2030", "-o", str(missing)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert not missing.exists()
    result = runner.invoke(args=["report", "--period", PERIOD, "-o", str(tmp_path / "report.pdf")])
    assert result.exit_code == 2 and "docx or xlsx" in result.output
