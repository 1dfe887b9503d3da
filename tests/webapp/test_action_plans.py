"""Action plans (issue #16): "you said — we will — we did" on the agency pages and the public unit page.

Done when: an agency manager creates an action, the public unit page shows it, and the audit
log records it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from tests.conftest import csrf_from
from tests.pages import check_page
from tests.webapp.agency_fixtures import OURS, THEIRS

METRIC = "sat-agencies/aspect:civil_servant"
SUBJECT = "aspect:sat-agencies:civil_servant"
GOOD = {
    "subject": SUBJECT,
    "said": "Phải bổ sung hồ sơ nhiều lần vì hướng dẫn chưa rõ.",
    "action": "Niêm yết bảng thành phần hồ sơ tại quầy và trên trang của xã.",
    "responsible": "Bộ phận một cửa UBND xã",
    "due_on": "31/03/2027",
    "baseline_period": "2026-Q2",
}


def publish_rows(db, period: str, rows: dict[tuple[str, str], dict]) -> None:
    """A published snapshot of ``period`` holding ``{(metric, unit code): estimate fields}``."""
    from webapp.models import PublishedEstimate, PublishedSnapshot

    snapshot = PublishedSnapshot(
        period=period,
        revision=1,
        published_by="test",
        methodology_version="test",
        instrument_versions={},
        input_hashes={},
    )
    db.session.add(snapshot)
    for (metric, unit), fields in rows.items():
        db.session.add(
            PublishedEstimate(
                snapshot=snapshot, metric=metric, domain_type="unit", domain=unit, ci_method="test", **fields
            )
        )
    db.session.commit()


@pytest.fixture()
def published(db, registry):
    """2026-Q2 (a rate of 71% for civil servants at OURS) and 2026-Q3 (too few ratings)."""
    publish_rows(
        db,
        "2026-Q2",
        {
            (METRIC, OURS): {
                "n": 120,
                "estimate": 0.71,
                "ci_low": 0.62,
                "ci_high": 0.79,
                "target": 0.8,
                "status": "below",
            }
        },
    )
    publish_rows(db, "2026-Q3", {(METRIC, OURS): {"n": 12, "estimate": None, "status": "insufficient"}})


def _plans(db):
    from webapp.models.insights import ActionPlan

    db.session.expire_all()
    return db.session.scalars(select(ActionPlan).order_by(ActionPlan.id)).all()


def _events(db, action):
    from webapp.models import AuditEvent

    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()


def _create(http, data, code=OURS):
    page = http.get(f"/agency/units/{code}/actions/new?lang=en")
    return http.post(f"/agency/units/{code}/actions", data={"csrf_token": csrf_from(page), **data})


def _update(http, plan_id, data):
    page = http.get(f"/agency/actions/{plan_id}?lang=en")
    return http.post(f"/agency/actions/{plan_id}/updates", data={"csrf_token": csrf_from(page), **data})


def _public(client, code=OURS):
    return check_page(client.get(f"/units/{code}?lang=en")).get_text(" ")


def test_manager_creates_a_plan_the_public_page_shows_it_and_the_audit_log_records_it(
    db, published, make_user, sign_in, client
):
    manager = make_user("agency_manager", OURS)
    http = sign_in(manager)
    form = check_page(http.get(f"/agency/units/{OURS}/actions/new?lang=en"))
    # The baseline defaults to the latest published quarter; the unit's aspects and the themes are offered.
    assert form.select_one("#field-baseline_period option[selected]")["value"] == "2026-Q3"
    offered = {o["value"] for o in form.select("#field-subject option")}
    assert {SUBJECT, "theme:waiting", "theme:fees"} <= offered
    assert not any(value.startswith("aspect:sat-health:") for value in offered)

    answer = _create(http, GOOD)
    assert answer.status_code == 302, answer.get_data(as_text=True)[:2000]
    (plan,) = _plans(db)
    assert (plan.indicator, plan.aspect, plan.theme, plan.status) == ("sat-agencies", "civil_servant", None, "planned")
    assert plan.due_on == date(2027, 3, 31) and plan.baseline_period == "2026-Q2"
    assert answer.headers["Location"].endswith(f"/agency/actions/{plan.id}")

    (event,) = _events(db, "action_plan.create")
    assert event.user_id == manager.id and event.object_type == "action_plan" and event.object_id == str(plan.id)
    assert event.after["unit"] == OURS and event.after["action"] == GOOD["action"]

    text = _public(client)
    assert "You said — we will — we did" in text
    for value in (GOOD["said"], GOOD["action"], GOOD["responsible"], "Planned"):
        assert value in text
    section = check_page(client.get(f"/units/{OURS}?lang=en")).select_one("#actions-heading").find_parent("section")
    rows = [" ".join(tr.get_text(" ").split()) for tr in section.select("tbody tr")]
    # The baseline quarter's rate with its interval and n, then the later quarter with too few ratings.
    assert rows[0].startswith("2026-Q2 (before the plan)") and "71" in rows[0] and "120" in rows[0]
    assert rows[1].startswith("2026-Q3") and "too few" in rows[1]

    # Progress: "done" needs its outcome ("we did").
    refused = _update(http, plan.id, {"status": "done", "note": "Đã niêm yết.", "outcome": " "})
    assert refused.status_code == 400
    assert "needs its outcome" in check_page(refused, status=400).get_text(" ")
    assert _plans(db)[0].status == "planned"
    answer = _update(
        http,
        plan.id,
        {"status": "done", "note": "Đã niêm yết tại quầy.", "outcome": "Bảng thành phần hồ sơ đã niêm yết tại quầy."},
    )
    assert answer.status_code == 302
    plan = _plans(db)[0]
    assert plan.status == "done" and plan.outcome == "Bảng thành phần hồ sơ đã niêm yết tại quầy."
    assert plan.done_on is not None and [u.note for u in plan.updates] == ["Đã niêm yết tại quầy."]
    (event,) = _events(db, "action_plan.update")
    assert event.before["status"] == "planned" and event.after["status"] == "done"
    assert event.after["unit"] == OURS and event.object_id == str(plan.id) and event.user_id == manager.id
    text = _public(client)
    assert "We did" in text and "Bảng thành phần hồ sơ đã niêm yết tại quầy." in text
    assert "Đã niêm yết tại quầy." in text and "Done" in text


BAD = [
    ({"said": "   "}, "said", "Write what citizens said"),
    ({"action": ""}, "action", "Write what the unit will change"),
    ({"responsible": ""}, "responsible", "Name the post or office"),
    ({"action": "x" * 2001}, "action", "2000 characters or fewer"),
    ({"said": "a\x07b"}, "said", "control characters"),
    ({"subject": "aspect:sat-agencies:nope"}, "subject", "aspects this unit is rated on"),
    ({"subject": "aspect:sat-health:staff"}, "subject", "aspects this unit is rated on"),
    ({"subject": "theme:weather"}, "subject", "Choose an aspect"),
    ({"subject": ""}, "subject", "Choose an aspect"),
    ({"due_on": "2026-03-31"}, "due_on", "before the baseline period 2026-Q2 begins"),
    # A plan is a promise the public can follow: not one for the next century (found in review).
    ({"due_on": "9999-12-31"}, "due_on", "within 5 years of the baseline period"),
    ({"due_on": "31/13/2026"}, "due_on", "Write the due date as day/month/year"),
    ({"due_on": "soon"}, "due_on", "Write the due date as day/month/year"),
    ({"due_on": ""}, "due_on", "Give the date"),
    ({"baseline_period": "2099-Q1"}, "baseline_period", "quarter that has ended"),
    ({"baseline_period": "2026"}, "baseline_period", "as a quarter"),
]


@pytest.mark.parametrize(("change", "field", "message"), BAD, ids=[f"{b[1]}-{i}" for i, b in enumerate(BAD)])
def test_bad_input_is_refused_with_a_clear_message(db, published, make_user, sign_in, change, field, message):
    http = sign_in(make_user("agency_manager", OURS))
    answer = _create(http, {**GOOD, **change})
    assert answer.status_code == 400
    soup = check_page(answer, status=400)
    assert message in soup.select_one(f"#field-{field}-error").get_text(" ")
    assert soup.select_one(f'.error-summary a[href="#field-{field}"]') is not None
    assert _plans(db) == [] and _events(db, "action_plan.create") == []


def test_unknown_status_and_empty_note_are_refused(db, published, make_user, sign_in):
    http = sign_in(make_user("agency_manager", OURS))
    _create(http, GOOD)
    plan_id = _plans(db)[0].id
    for data, field in (
        ({"status": "finished", "note": "x"}, "status"),
        ({"status": "in_progress", "note": " "}, "note"),
        ({"status": "in_progress", "note": "y" * 2001}, "note"),
    ):
        answer = _update(http, plan_id, data)
        assert answer.status_code == 400
        assert check_page(answer, status=400).select_one(f"#field-{field}-error") is not None
    assert _plans(db)[0].updates == [] and _events(db, "action_plan.update") == []


def test_personal_names_and_numbers_are_masked_before_they_are_published(db, published, make_user, sign_in, client):
    http = sign_in(make_user("agency_manager", OURS))
    answer = _create(
        http,
        {
            **GOOD,
            "responsible": "Chị Lan, bộ phận một cửa",
            "said": "Gọi 0912 345 678 không ai nghe máy.",
            "due_on": "2027-03-31",
        },
    )
    assert answer.status_code == 302
    plan = _plans(db)[0]
    assert plan.due_on == date(2027, 3, 31)
    assert "Lan" not in plan.responsible and "bộ phận một cửa" in plan.responsible
    assert "0912" not in plan.said
    text = _public(client)
    assert "Chị Lan" not in text and "0912 345 678" not in text


def test_viewers_read_plans_but_cannot_change_them(app, db, published, make_user, sign_in):
    from tests.webapp.test_role_matrix import valid_csrf_token
    from webapp.insights import actions
    from webapp.models import Unit

    unit = db.session.scalar(select(Unit).where(Unit.code == OURS))
    plan = actions.create_plan(
        unit,
        subject="theme:waiting",
        said="Chờ lâu.",
        action="Thêm quầy buổi sáng.",
        responsible="Văn phòng UBND xã",
        due_on=date(2027, 1, 31),
    )
    db.session.commit()
    http = sign_in(make_user("viewer", OURS))
    listing = check_page(http.get(f"/agency/units/{OURS}/actions?lang=en"))
    assert "Thêm quầy buổi sáng." in listing.get_text(" ")
    assert not listing.select(f'a[href="/agency/units/{OURS}/actions/new"]')
    assert not check_page(http.get(f"/agency/units/{OURS}/actions/new")).select("main form")
    assert not check_page(http.get(f"/agency/actions/{plan.id}")).select("main form")
    token = valid_csrf_token(app, http)
    assert http.post(f"/agency/units/{OURS}/actions", data={"csrf_token": token, **GOOD}).status_code == 403
    update = {"csrf_token": token, "status": "dropped", "note": "x"}
    assert http.post(f"/agency/actions/{plan.id}/updates", data=update).status_code == 403
    assert len(_plans(db)) == 1 and _plans(db)[0].status == "planned"


def test_another_agencys_plans_answer_404(db, published, make_user, sign_in):
    from webapp.insights import actions
    from webapp.models import Unit

    unit = db.session.scalar(select(Unit).where(Unit.code == OURS))
    plan = actions.create_plan(
        unit,
        subject="theme:fees",
        said="Thu thêm phí.",
        action="Niêm yết phí.",
        responsible="Văn phòng UBND xã",
        due_on=date(2027, 1, 31),
    )
    db.session.commit()
    http = sign_in(make_user("agency_manager", THEIRS))
    assert http.get(f"/agency/actions/{plan.id}").status_code == 404
    assert http.get(f"/agency/units/{OURS}/actions").status_code == 404
    page = http.get(f"/agency/units/{THEIRS}/actions/new")
    token = csrf_from(page)
    answer = http.post(
        f"/agency/actions/{plan.id}/updates", data={"csrf_token": token, "status": "dropped", "note": "x"}
    )
    assert answer.status_code == 404
    assert http.post(f"/agency/units/{OURS}/actions", data={"csrf_token": token, **GOOD}).status_code == 404
    assert _plans(db)[0].status == "planned" and len(_plans(db)) == 1
    # The service refuses a unit outside the user's scope too (the CLI and any other caller share it).
    other = make_user("agency_manager", THEIRS)
    with pytest.raises(actions.ActionError):
        actions.create_plan(
            unit, subject="theme:fees", said="a", action="b", responsible="c", due_on=date(2027, 1, 31), user=other
        )


def test_overdue_and_dropped_plans_are_shown_honestly(db, published, make_user, sign_in, client):
    from webapp.insights import actions
    from webapp.models import Unit

    unit = db.session.scalar(select(Unit).where(Unit.code == OURS))
    late = actions.create_plan(
        unit,
        subject=SUBJECT,
        said="Cán bộ hướng dẫn chưa rõ.",
        action="Tập huấn.",
        responsible="Văn phòng UBND xã",
        due_on=date(2026, 8, 31),
        baseline_period="2026-Q2",
        now=datetime(2026, 7, 15, tzinfo=UTC),
    )
    dropped = actions.create_plan(
        unit,
        subject="theme:online",
        said="Cổng trực tuyến hay lỗi.",
        action="Đổi nhà cung cấp.",
        responsible="Văn phòng UBND xã",
        due_on=date(2027, 6, 30),
    )
    actions.add_update(dropped, status="dropped", note="Hệ thống do tỉnh quản lý, xã không đổi được.")
    db.session.commit()
    http = sign_in(make_user("agency_manager", OURS))
    listing = check_page(http.get(f"/agency/units/{OURS}/actions?lang=en")).get_text(" ")
    assert "1 plan is past its due date." in listing and "(overdue)" in listing
    dashboard = check_page(http.get(f"/agency/units/{OURS}?lang=en"))
    section = dashboard.select_one("#actions-heading").find_parent("section")
    assert "past its due date" in section.get_text(" ")
    assert section.select_one(f'a[href="/agency/actions/{late.id}"]') is not None
    assert section.select_one(f'a[href="/agency/units/{OURS}/actions/new"]') is not None
    text = _public(client)
    assert "Đổi nhà cung cấp." in text and "Dropped" in text
    assert "Hệ thống do tỉnh quản lý, xã không đổi được." in text
    assert "overdue: it was due on" in text


def test_the_dashboard_offers_plans_before_there_are_any(db, make_user, sign_in, client):
    http = sign_in(make_user("agency_manager", OURS))
    section = (
        check_page(http.get(f"/agency/units/{OURS}?lang=en")).select_one("#actions-heading").find_parent("section")
    )
    assert section.select_one(f'a[href="/agency/units/{OURS}/actions/new"]') is not None
    # The public page has no section without plans.
    assert check_page(client.get(f"/units/{OURS}")).select_one("#actions-heading") is None


def test_plan_changes_leave_the_cached_public_page(app, db, published, monkeypatch):
    from public import cache as page_cache_module
    from webapp.extensions import limiter
    from webapp.insights import actions
    from webapp.models import Unit

    monkeypatch.setattr(page_cache_module, "COMMENTS_CHECK_SECONDS", 0.0)
    cache = page_cache_module.page_cache(app)
    cache.clear()
    app.config["PUBLIC_PAGE_CACHE"] = True
    limiter.reset()
    web = app.test_client()
    try:
        first = web.get(f"/units/{OURS}").get_data(as_text=True)
        hits = cache.hits
        assert web.get(f"/units/{OURS}").get_data(as_text=True) == first and cache.hits == hits + 1
        unit = db.session.scalar(select(Unit).where(Unit.code == OURS))
        plan = actions.create_plan(
            unit,
            subject="theme:waiting",
            said="Chờ lâu.",
            action="Lắp máy lấy số.",
            responsible="Văn phòng UBND xã",
            due_on=date(2027, 1, 31),
        )
        db.session.commit()
        assert "Lắp máy lấy số." in web.get(f"/units/{OURS}").get_data(as_text=True)
        actions.add_update(plan, status="in_progress", note="Đã mua máy.")
        db.session.commit()
        assert "Đã mua máy." in web.get(f"/units/{OURS}").get_data(as_text=True)
    finally:
        app.config.pop("PUBLIC_PAGE_CACHE")
        cache.clear()


def test_demo_plants_one_plan_in_each_state(db, registry):
    from webapp.demo.actions import plant_demo_actions
    from webapp.models.insights import ActionPlan

    now = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    made = plant_demo_actions(now)
    db.session.commit()
    states = {(p.unit.code, p.aspect or p.theme): p.status for p in made}
    assert states == {
        ("sl-ttpvhcc", "civil_servant"): "done",
        ("sl-ttpvhcc", "waiting"): "in_progress",
        ("bv-dk-tinh-sonla", "facilities"): "planned",
    }
    done = next(p for p in made if p.status == "done")
    assert done.outcome and done.baseline_period == "2026-Q1" and done.done_on <= now.date()
    updates = [u for p in made for u in p.updates]
    assert updates and all(u.created_at <= now for u in updates)
    assert {p.baseline_period for p in made} == {"2026-Q1", "2026-Q2", "2026-Q3"}
    # Audited like any plan, and planting again adds nothing.
    assert len(_events(db, "action_plan.create")) == 3
    assert plant_demo_actions(now) == [] and db.session.scalar(select(func.count()).select_from(ActionPlan)) == 3


def test_cli_lists_the_plans_with_their_status(db, registry, runner):
    from webapp.demo.actions import plant_demo_actions

    plant_demo_actions(datetime(2026, 11, 28, 3, 0, tzinfo=UTC))
    db.session.commit()
    result = runner.invoke(args=["actions", "list", "--unit", "sl-ttpvhcc"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 2 and all("\tsl-ttpvhcc\t" in line for line in lines)
    assert "in_progress (overdue)" in lines[0] and "theme waiting" in lines[0]
    assert "done" in lines[1] and "aspect sat-agencies/civil_servant" in lines[1]
    assert runner.invoke(args=["actions", "list", "--status", "planned"]).output.count("\n") == 1
    assert runner.invoke(args=["actions", "list", "--unit", "nowhere"]).exit_code != 0
