"""Reports from the agency area: published periods only, made by a background job, DOCX and XLSX that open."""

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


def ask_for_report(http, code: str, query: str):
    """Ask for a report; return ``(job page URL, job page answer)`` after following the redirect."""
    answer = http.get(f"/agency/units/{code}/reports/download?{query}")
    assert answer.status_code == 302, answer.status_code
    location = answer.headers["Location"]
    assert location.startswith(f"/agency/units/{code}/reports/jobs/"), location
    return location, http.get(location)


def download(http, code: str, query: str):
    """Ask for a report, follow the redirect to its job page, then download the file it links to."""
    location, page = ask_for_report(http, code, query)
    soup = check_page(page)
    link = soup.select_one(f'a[href="{location}/file"]')
    assert link is not None, "the finished job's page links to the file"
    return http.get(link["href"])


def test_download_docx_and_xlsx(db, make_user, sign_in):
    import docx
    import openpyxl

    _published_quarter()
    http = sign_in(make_user("viewer", OURS))
    soup = check_page(http.get(f"/agency/units/{OURS}/reports"))
    assert "2026-Q3" in [o.get("value") for o in soup.select("#field-period option")]
    answer = download(http, OURS, "period=2026-Q3&format=docx&language=vi")
    assert answer.status_code == 200
    assert answer.mimetype == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert "attachment" in answer.headers["Content-Disposition"] and ".docx" in answer.headers["Content-Disposition"]
    document = docx.Document(io.BytesIO(answer.data))
    assert any(p.text.strip() for p in document.paragraphs)
    answer = download(http, OURS, "period=2026-Q3&format=xlsx&language=en")
    assert answer.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    workbook = openpyxl.load_workbook(io.BytesIO(answer.data))
    assert workbook.sheetnames


def test_bad_choices_answer_400_with_the_form_and_queue_nothing(db, make_user, sign_in):
    from sqlalchemy import func, select

    from webapp.models import Job

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
    assert db.session.scalar(select(func.count()).select_from(Job)) == 0


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
    answer = download(http, "sl", "period=2026-Q3&format=xlsx")
    assert answer.status_code == 200 and "-sl-2026-Q3" in answer.headers["Content-Disposition"]
