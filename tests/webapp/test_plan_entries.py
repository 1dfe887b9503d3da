"""Values of the plan's targets entered by Sở Nội vụ: a value, a date and a source, or nothing is stored."""

from __future__ import annotations

from datetime import date

import pytest
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tests.pages import check_page
from tests.webapp.test_admin_pages import audit_rows, post
from webapp.models import PlanProgressValue


def stored(db) -> list[PlanProgressValue]:
    return db.session.scalars(select(PlanProgressValue)).all()


@pytest.mark.parametrize("source", ["", "   ", "\t\n"])
def test_a_form_entry_without_a_source_is_refused_and_nothing_stored(admin_client, db, source):
    answer = post(
        admin_client, "/admin/plan/e-office?lang=en", {"value": "72", "as_of": "2016-12-31", "source": source}
    )
    text = " ".join(check_page(answer, status=400, lang="en").get_text().split())
    assert "Say where the value comes from" in text
    assert 'value="72"' in answer.get_data(as_text=True), "the form keeps what was typed"
    assert stored(db) == [] and audit_rows(db, "plan_progress.create") == []


def test_the_service_refuses_an_entry_without_a_source(db, registry):
    from webapp.services.plan_progress import PlanValueError, record_plan_value

    with pytest.raises(PlanValueError) as refused:
        record_plan_value("e-office", 0.72, date(2016, 12, 31), "  ", actor=None)
    assert refused.value.code == "no_source" and refused.value.status == 400
    with force_locale("en"):
        assert "Say where the value comes from" in refused.value.message()
    assert stored(db) == [] and audit_rows(db, "plan_progress.create") == []


@pytest.mark.parametrize(
    ("target", "value", "code"),
    [
        ("sat-procedures", 0.9, "unknown_target"),  # measured by the survey: its value comes from publications
        ("no-such-target", 0.9, "unknown_target"),
        ("e-office", 1.2, "value_not_share"),
        ("e-office", -0.1, "value_not_share"),
    ],
)
def test_the_service_refuses_other_bad_entries(db, registry, target, value, code):
    from webapp.services.plan_progress import PlanValueError, record_plan_value

    with pytest.raises(PlanValueError) as refused:
        record_plan_value(target, value, date(2016, 12, 31), "Báo cáo 98/BC-SNV", actor=None)
    assert refused.value.code == code
    assert stored(db) == []


def test_the_service_stores_and_audits_an_entry_with_its_source(db, registry):
    from webapp.services.plan_progress import record_plan_value

    row = record_plan_value(
        "e-office", 0.72, date(2016, 12, 31), "  Báo cáo 98/BC-SNV ngày 20/12/2016 ", actor=None, note=" Sở, ngành "
    )
    db.session.commit()
    assert [(r.target_id, r.value, r.source, r.note) for r in stored(db)] == [
        ("e-office", pytest.approx(0.72), "Báo cáo 98/BC-SNV ngày 20/12/2016", "Sở, ngành")
    ]
    (event,) = audit_rows(db, "plan_progress.create")
    assert event.object_id == str(row.id) and event.actor == "cli"
    assert event.after["source"] == "Báo cáo 98/BC-SNV ngày 20/12/2016" and event.after["as_of"] == "2016-12-31"


def test_the_database_refuses_a_value_without_a_source(db):
    from datetime import UTC, datetime

    db.session.add(
        PlanProgressValue(target_id="e-office", value=0.5, as_of=datetime(2016, 1, 1, tzinfo=UTC), source=" ")
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_the_admin_page_lists_the_targets_of_both_plans_not_measured_by_the_survey(admin_client):
    soup = check_page(admin_client.get("/admin/plan?lang=en"), lang="en")
    links = {a["href"] for a in soup.find_all("a")}
    assert "/admin/plan/e-office" in links and "/admin/plan/legal-documents" in links
    assert not any(link.startswith("/admin/plan/r76-") or link == "/admin/plan/sat-procedures" for link in links)
    text = " ".join(soup.get_text().split())
    assert "II.1.6" in text and "Decision 210/QĐ-UBND" in text
    assert "/admin/plan/ii-2-1-legal-system" not in links, "qualitative objectives take no value"
