"""Agency reports as background jobs: one job per report and revision, scope, failures, kept 7 days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from tests.pages import check_page
from tests.webapp.agency_fixtures import OURS, THEIRS, rate
from tests.webapp.test_agency_reports import ask_for_report, download

SEPTEMBER = datetime(2026, 9, 10, 2, 0, tzinfo=UTC)
QUERY = "period=2026-Q3&format=xlsx&language=vi"


def _publish(unit: str = OURS, reason: str | None = None):
    from webapp.publishing.publish import publish_period

    for i in range(40):
        rate(unit, overall=3, answered_at=SEPTEMBER + timedelta(minutes=9 * i))
    publish_period("2026-Q3", reason=reason, now=datetime(2026, 11, 28, 3, 0, tzinfo=UTC))


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_asking_twice_gives_the_same_job_and_a_new_revision_a_new_one(db, make_user, sign_in):
    from webapp.models import Job, JobFile

    _publish()
    http = sign_in(make_user("agency_manager", OURS))
    first, _ = ask_for_report(http, OURS, QUERY)
    again, _ = ask_for_report(http, OURS, QUERY)
    assert first == again
    assert _count(db, Job) == 1 and _count(db, JobFile) == 1
    job = db.session.scalar(select(Job))
    assert job.kind == "report" and job.state == "done"
    assert job.payload == {"unit": OURS, "period": "2026-Q3", "format": "xlsx", "language": "vi", "revision": 1}
    other_format, _ = ask_for_report(http, OURS, "period=2026-Q3&format=docx&language=vi")
    assert other_format != first
    _publish(reason="Corrected counts")
    after_revision, _ = ask_for_report(http, OURS, QUERY)
    assert after_revision not in (first, other_format)
    db.session.expire_all()
    assert _count(db, Job) == 3 and _count(db, JobFile) == 3


def test_another_units_manager_gets_404_on_the_job_and_its_file(db, make_user, sign_in, app):
    _publish()
    ours = sign_in(make_user("agency_manager", OURS))
    location, page = ask_for_report(ours, OURS, QUERY)
    check_page(page)
    assert ours.get(f"{location}/file").status_code == 200
    job_id = location.rsplit("/", 1)[1]
    theirs = sign_in(make_user("agency_manager", THEIRS), app.test_client())
    assert theirs.get(location).status_code == 404
    assert theirs.get(f"{location}/file").status_code == 404
    # Their own unit in the URL does not open our job either.
    assert theirs.get(f"/agency/units/{THEIRS}/reports/jobs/{job_id}").status_code == 404
    assert theirs.get(f"/agency/units/{THEIRS}/reports/jobs/{job_id}/file").status_code == 404
    # A manager of the province's scope reaches the unit, but only under the job's own unit.
    province = sign_in(make_user("agency_manager", "sl"), app.test_client())
    assert province.get(location).status_code == 200
    assert province.get(f"/agency/units/sl/reports/jobs/{job_id}").status_code == 404


def test_province_job_only_for_province_scope(db, make_user, sign_in, app):
    _publish()
    admin = sign_in(make_user("admin"), app.test_client())
    location, _ = ask_for_report(admin, "sl", QUERY)
    assert admin.get(f"{location}/file").status_code == 200
    manager = sign_in(make_user("agency_manager", OURS))
    assert manager.get(location).status_code == 404
    assert manager.get(f"{location}/file").status_code == 404


def test_a_failed_build_shows_the_reason_and_no_file(db, make_user, sign_in, monkeypatch):
    import webapp.reports
    from webapp.models import Job, JobFile
    from webapp.reports import ReportError

    _publish()

    def refuse(*args, **kwargs):
        raise ReportError("The unit did not exist in 2026-Q3.")

    monkeypatch.setattr(webapp.reports, "build_report", refuse)
    http = sign_in(make_user("agency_manager", OURS))
    location, page = ask_for_report(http, OURS, QUERY)
    soup = check_page(page)
    assert "The unit did not exist in 2026-Q3." in soup.select_one(".error-summary").get_text()
    assert not soup.select(f'a[href="{location}/file"]')
    assert soup.select_one('meta[http-equiv="refresh"]') is None
    assert http.get(f"{location}/file").status_code == 404
    job = db.session.scalar(select(Job))
    assert job.state == "failed" and _count(db, JobFile) == 0
    # Asking again once the cause is gone tries the same job again, and it succeeds.
    monkeypatch.undo()
    again, page = ask_for_report(http, OURS, QUERY)
    assert again == location
    assert check_page(page).select_one(f'a[href="{location}/file"]') is not None
    assert http.get(f"{location}/file").status_code == 200


def test_an_unfinished_job_page_refreshes_itself_and_has_no_file(db, make_user, sign_in):
    from webapp.extensions import db as database
    from webapp.models import Job, Unit

    unit = database.session.scalar(select(Unit).where(Unit.code == OURS))
    job = Job(
        kind="report",
        state="queued",
        payload={"unit": OURS, "period": "2026-Q3", "format": "docx", "language": "vi", "revision": 1},
        unit_id=unit.id,
    )
    database.session.add(job)
    database.session.commit()
    http = sign_in(make_user("viewer", OURS))
    location = f"/agency/units/{OURS}/reports/jobs/{job.id}"
    soup = check_page(http.get(location))
    assert soup.select_one('meta[http-equiv="refresh"]') is not None
    assert soup.select_one("[role=status]")
    assert http.get(f"{location}/file").status_code == 404


def test_report_files_older_than_7_days_are_deleted_when_a_new_one_is_stored(db, make_user, sign_in):
    from webapp.models import Job, JobFile, utcnow

    _publish()
    http = sign_in(make_user("agency_manager", OURS))
    old, _ = ask_for_report(http, OURS, QUERY)
    stored = db.session.scalar(select(JobFile))
    stored.created_at = utcnow() - timedelta(days=8)
    db.session.commit()
    assert http.get(f"{old}/file").status_code == 200
    assert download(http, OURS, "period=2026-Q3&format=docx&language=vi").status_code == 200
    db.session.expire_all()
    remaining = list(db.session.scalars(select(JobFile)))
    assert len(remaining) == 1 and remaining[0].filename.endswith(".docx")
    assert http.get(f"{old}/file").status_code == 404
    # The old report's page says so; asking for it again makes the file again (same job).
    assert "7" in check_page(http.get(old)).get_text()
    again = download(http, OURS, QUERY)
    assert again.status_code == 200 and _count(db, Job) == 2
