"""Report downloads from the agency area: published periods only, DOCX and XLSX that open."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from tests.pages import check_page
from tests.webapp.agency_fixtures import OURS, THEIRS, rate

SEPTEMBER = datetime(2026, 9, 10, 2, 0, tzinfo=UTC)


def _published_quarter():
    from webapp.publishing.publish import publish_period

    for i in range(40):
        rate(OURS, overall=3, answered_at=SEPTEMBER + timedelta(minutes=9 * i))
    publish_period("2026-Q3", now=datetime(2026, 11, 28, 3, 0, tzinfo=UTC))


def test_download_docx_and_xlsx(db, make_user, sign_in):
    import docx
    import openpyxl

    _published_quarter()
    http = sign_in(make_user("viewer", OURS))
    soup = check_page(http.get(f"/agency/units/{OURS}/reports"))
    assert "2026-Q3" in [o.get("value") for o in soup.select("#field-period option")]
    answer = http.get(f"/agency/units/{OURS}/reports/download?period=2026-Q3&format=docx&language=vi")
    assert answer.status_code == 200
    assert answer.mimetype == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert "attachment" in answer.headers["Content-Disposition"] and ".docx" in answer.headers["Content-Disposition"]
    document = docx.Document(io.BytesIO(answer.data))
    assert any(p.text.strip() for p in document.paragraphs)
    answer = http.get(f"/agency/units/{OURS}/reports/download?period=2026-Q3&format=xlsx&language=en")
    assert answer.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    workbook = openpyxl.load_workbook(io.BytesIO(answer.data))
    assert workbook.sheetnames


def test_bad_choices_answer_400_with_the_form(db, make_user, sign_in):
    _published_quarter()
    http = sign_in(make_user("agency_manager", OURS))
    for query in (
        "period=&format=docx",
        "period=2026-Q9&format=docx",
        "period=2026-Q3&format=pdf",
        "period=2019-Q1&format=docx",
        "period=2026-Q3&format=docx&language=fr",
    ):
        answer = http.get(f"/agency/units/{OURS}/reports/download?{query}")
        soup = check_page(answer, status=400)
        assert soup.select_one(".error-summary")


def test_province_report_only_for_province_scope(db, make_user, sign_in):
    _published_quarter()
    manager = sign_in(make_user("agency_manager", OURS))
    assert manager.get("/agency/units/sl/reports").status_code == 404
    assert manager.get("/agency/units/sl/reports/download?period=2026-Q3&format=docx").status_code == 404
    assert manager.get(f"/agency/units/{THEIRS}/reports").status_code == 404
    assert manager.get(f"/agency/units/{THEIRS}/reports/download?period=2026-Q3&format=docx").status_code == 404


def test_province_report_for_admin(db, make_user, sign_in, app):
    _published_quarter()
    http = sign_in(make_user("admin"), app.test_client())
    answer = http.get("/agency/units/sl/reports/download?period=2026-Q3&format=xlsx")
    assert answer.status_code == 200 and "-sl-2026-Q3" in answer.headers["Content-Disposition"]
