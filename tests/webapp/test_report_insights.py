"""Issue #16: the agency report's page of key drivers, comment themes and action plans (DOCX and XLSX).

The demo plants its drivers (admin: civil servants and access), its comment themes (waiting, then
attitude) and three action plans; the report must carry exactly what is stored for its period.
"""

from __future__ import annotations

import io
from datetime import date

import pytest
from docx import Document
from flask_babel import force_locale
from openpyxl import load_workbook
from sqlalchemy import case, func, select

from tests.webapp.published_demo import NOW, PERIOD, PREVIOUS, published_app

HEADING = "From scores to action: key drivers, comment themes and action plans"


@pytest.fixture(scope="module")
def published(app):
    with (
        published_app(app, responses=12_000, seed=14, first_quarter=PREVIOUS, periods=[PREVIOUS, PERIOD]) as ready,
        ready.app_context(),
    ):
        yield ready


def _build(unit, fmt, locale="en"):
    from webapp.reports import build_report

    return build_report(unit, PERIOD, fmt, locale=locale, now=NOW)


def _table(document, caption_start: str):
    for table in document.tables:
        caption = table._tbl.tblPr.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}tblCaption")
        if caption is not None and caption_start in caption.get(
            "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}val"
        ):
            return [[cell.text for cell in row.cells] for row in table.rows]
    raise AssertionError(f"no table captioned {caption_start!r}")


def _stored_drivers(indicator: str, domain_type: str, domain: str):
    from public import readers
    from webapp.publishing.publish import current_snapshot

    return readers.drivers_in(current_snapshot(PERIOD), indicator, domain_type, domain)


def _stored_themes():
    from webapp.extensions import db
    from webapp.models import Response
    from webapp.models.insights import CommentTheme

    return {
        theme: (mentions, negative)
        for theme, mentions, negative in db.session.execute(
            select(CommentTheme.theme, func.count(), func.sum(case((CommentTheme.negative.is_(True), 1), else_=0)))
            .join(Response, Response.id == CommentTheme.response_id)
            .where(Response.period == PERIOD)
            .group_by(CommentTheme.theme)
        )
    }


def test_province_docx_lists_the_planted_drivers_first_with_the_stored_numbers(published):
    stored = _stored_drivers("sat-agencies", "province", "sl")
    assert stored, "the published demo should have a province model for sat-agencies"
    assert {d.aspect for d in stored if d.rank in (1, 2)} == {"civil_servant", "access"}
    document = Document(io.BytesIO(_build(None, "docx").content))
    texts = [p.text for p in document.paragraphs]
    assert any(HEADING.upper() in text for text in texts)
    rows = _table(document, "Key drivers: ")
    assert rows[0][:2] == ["Rank", "Aspect"]
    first, second = rows[1], rows[2]
    assert {first[1], second[1]} == {"Civil servants", "Access to the service"}
    top = stored[0]
    with force_locale("en"):
        from webapp.reports import labels

        assert first[3].startswith(labels.decimal(top.coefficient))
        assert labels.decimal_interval(top.ci_low, top.ci_high) in first[3]
        assert first[6] == labels.count(top.n)


def test_province_docx_counts_the_themes_of_the_period(published):
    stored = _stored_themes()
    rows = _table(Document(io.BytesIO(_build(None, "docx").content)), "Themes of the comments")
    by_theme = {row[0]: row for row in rows[1:]}
    assert rows[1][0].startswith("Waiting") and rows[2][0].startswith("Staff attitude")
    assert by_theme[rows[1][0]][1] == f"{stored['waiting'][0]:,}"
    assert by_theme[rows[1][0]][2] == f"{stored['waiting'][1]:,}"
    assert len(rows) - 1 == len(stored)


def test_unit_report_lists_its_action_plans_and_a_new_one(published):
    from webapp.extensions import db
    from webapp.insights import actions
    from webapp.models import Unit
    from webapp.models.insights import ActionPlan

    unit = db.session.scalar(select(Unit).where(Unit.code == "sl-ttpvhcc"))
    demo = db.session.scalars(select(ActionPlan).where(ActionPlan.unit_id == unit.id)).all()
    assert len(demo) == 2, "the demo plants two plans on the province's service centre"
    plan = ActionPlan(
        unit_id=unit.id,
        indicator="sat-agencies",
        aspect="access",
        baseline_period=PERIOD,
        said="Khó tìm chỗ để xe.",
        action="Mở thêm bãi xe phía sau.",
        responsible="Văn phòng Trung tâm",
        due_on=date(2027, 3, 31),
        status="planned",
    )
    db.session.add(plan)
    db.session.commit()
    try:
        rows = _table(Document(io.BytesIO(_build("sl-ttpvhcc", "docx").content)), "Action plans")
        assert len(rows) - 1 == 3
        assert any(row[1] == "Khó tìm chỗ để xe." and "Mở thêm bãi xe phía sau." in row[2] for row in rows[1:])
        assert any("overdue" in row[3] for row in rows[1:]), "the demo's waiting plan is overdue"
        workbook = load_workbook(io.BytesIO(_build("sl-ttpvhcc", "xlsx").content))
        sheet = workbook["Action plans"]
        values = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
        assert len(values) == 3
        with force_locale("en"):
            assert actions.subject_label(plan) in {v[1] for v in values}
    finally:
        db.session.delete(plan)
        db.session.commit()


def test_xlsx_has_drivers_and_themes_sheets_with_stored_numbers(published):
    workbook = load_workbook(io.BytesIO(_build(None, "xlsx").content))
    drivers = [[c.value for c in row] for row in workbook["Key drivers"].iter_rows(min_row=2)]
    stored = {
        (d.indicator, d.aspect): d
        for code in ("sat-agencies", "sat-health", "sat-education")
        for d in _stored_drivers(code, "province", "sl")
    }
    assert drivers and len(drivers) == len(stored)
    agencies = [row for row in drivers if row[2] in (1, 2) and row[0].startswith("Satisfaction")]
    assert agencies, drivers[:3]
    for row in drivers:
        matches = [d for d in stored.values() if d.rank == row[2] and abs((d.coefficient or 0) - (row[7] or 0)) < 1e-12]
        assert matches, row
    themes = {row[0].value: (row[1].value, row[2].value) for row in workbook["Comment themes"].iter_rows(min_row=2)}
    assert sorted(themes.values()) == sorted(_stored_themes().values())
