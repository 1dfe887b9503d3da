"""Admin: active questionnaire versions, indicator targets and plan progress values."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.pages import check_page
from tests.webapp.test_admin_pages import audit_rows, post
from webapp.models import Indicator, IndicatorTarget, Instrument, PlanProgressValue


def test_activating_a_version_leaves_one_active_per_code(admin_client, db):
    current = db.session.scalar(
        select(Instrument).where(Instrument.code == "counter-quick", Instrument.active.is_(True))
    )
    older = Instrument(
        code="counter-quick",
        version=current.version + 1,
        content_hash="f" * 64,
        snapshot=current.snapshot,
        sector=current.sector,
        active=False,
    )
    db.session.add(older)
    db.session.commit()
    assert post(admin_client, f"/admin/instruments/{older.id}/activate").status_code == 302
    db.session.expire_all()
    active = db.session.scalars(
        select(Instrument.version).where(Instrument.code == "counter-quick", Instrument.active.is_(True))
    ).all()
    assert active == [older.version]
    [event] = audit_rows(db, "instrument.activate")
    assert event.before == {"active_versions": [current.version]} and event.after == {
        "active_versions": [older.version]
    }


def test_targets_are_added_and_changed_with_audit(admin_client, db):
    indicator = db.session.scalar(select(Indicator).where(Indicator.code == "sat-agencies"))
    answer = post(
        admin_client,
        f"/admin/indicators/{indicator.code}/targets",
        {"year": "2035", "value": "92,5", "comparison": "ge", "source_vi": "Nghị quyết X", "source_en": ""},
    )
    assert answer.status_code == 302
    target = db.session.scalar(
        select(IndicatorTarget).where(IndicatorTarget.indicator_id == indicator.id, IndicatorTarget.year == 2035)
    )
    assert target.value == pytest.approx(0.925) and target.comparison == "ge" and target.source_en is None
    [created] = audit_rows(db, "indicator_target.create")
    assert created.after["value"] == pytest.approx(0.925) and created.after["indicator"] == "sat-agencies"

    assert (
        post(
            admin_client,
            f"/admin/targets/{target.id}/edit",
            {
                "year": "2035",
                "value": "95",
                "comparison": "ge",
                "source_vi": "Nghị quyết X",
                "source_en": "Resolution X",
            },
        ).status_code
        == 302
    )
    [changed] = audit_rows(db, "indicator_target.update")
    assert changed.before == {"indicator": "sat-agencies", "value": pytest.approx(0.925), "source_en": None}
    assert changed.after == {"indicator": "sat-agencies", "value": pytest.approx(0.95), "source_en": "Resolution X"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"year": "1999", "value": "90", "comparison": "gt"}, "Enter a year from 2000 to 2100"),
        ({"year": "2030", "value": "101", "comparison": "gt"}, "Enter a percentage from 0 to 100"),
        ({"year": "2030", "value": "abc", "comparison": "gt"}, "Enter a percentage from 0 to 100"),
        ({"year": "2030", "value": "90", "comparison": "eq"}, "Choose how the value is compared"),
    ],
)
def test_bad_targets_are_refused_with_a_message(admin_client, db, data, message):
    before = db.session.scalars(select(IndicatorTarget.id)).all()
    answer = post(admin_client, "/admin/indicators/sat-agencies/targets?lang=en", data)
    assert message in check_page(answer, status=400, lang="en").get_text(" ")
    assert db.session.scalars(select(IndicatorTarget.id)).all() == before


def test_a_second_target_for_the_same_year_is_refused(admin_client, db):
    indicator = db.session.scalar(select(Indicator).where(Indicator.code == "sat-agencies"))
    year = indicator.targets[0].year
    answer = post(
        admin_client,
        "/admin/indicators/sat-agencies/targets?lang=en",
        {"year": str(year), "value": "90", "comparison": "gt"},
    )
    assert answer.status_code == 400 and "already has a target for" in answer.get_data(as_text=True)


def test_plan_progress_values_are_stored_as_shares_with_history(admin_client, db):
    html = admin_client.get("/admin/plan?lang=en").get_data(as_text=True)
    assert "/admin/plan/legal-documents" in html and "/admin/plan/coverage-psu" not in html  # measured by the survey
    for value, day in (("80", "2014-12-31"), ("97,5", "2015-12-31")):
        answer = post(
            admin_client,
            "/admin/plan/legal-documents",
            {"value": value, "as_of": day, "source": "Báo cáo 12/BC-UBND", "note": ""},
        )
        assert answer.status_code == 302
    rows = db.session.scalars(select(PlanProgressValue).order_by(PlanProgressValue.as_of)).all()
    assert [r.value for r in rows] == [pytest.approx(0.8), pytest.approx(0.975)]
    assert rows[0].as_of.astimezone().date().isoformat() in {"2014-12-31", "2015-01-01"}
    assert rows[1].entered_by_id == admin_client.admin.id
    assert len(audit_rows(db, "plan_progress.create")) == 2
    page = check_page(admin_client.get("/admin/plan/legal-documents?lang=vi"), lang="vi").get_text(" ")
    assert "97,5%" in page and "31/12/2015" in page and "31/12/2014" in page


def test_plan_value_needs_a_source_and_a_percentage(admin_client, db):
    answer = post(
        admin_client, "/admin/plan/legal-documents?lang=en", {"value": "150", "as_of": "2015-12-31", "source": ""}
    )
    text = check_page(answer, status=400, lang="en").get_text(" ")
    assert "Say where the value comes from" in text and "Enter a percentage from 0 to 100" in text
    assert db.session.scalar(select(PlanProgressValue)) is None
