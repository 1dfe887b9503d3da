"""Action plans in Chromium: a manager records a plan with the keyboard alone; axe finds nothing
on the form, the plan's page and the public unit page that shows it (issue #16)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.browser.axe import assert_no_axe_violations
from tests.browser.conftest import ensure_staff, open_page, sign_in_with_totp

#: The provincial public administration service centre: admin questionnaires, so it has aspects.
UNIT = "sl-ttpvhcc"
SAID = "Nhiều người phải bổ sung hồ sơ hai lần vì hướng dẫn chưa rõ."
ACTION = "Niêm yết bảng thành phần hồ sơ tại từng quầy."


@pytest.fixture(scope="module")
def manager(live_app) -> dict:
    """Published periods (as the agency tests) and a manager of :data:`UNIT` with a second factor."""

    from webapp.extensions import db
    from webapp.models import PublishedSnapshot
    from webapp.publishing.publish import publish_ended_periods

    with live_app.app_context():
        if not db.session.scalar(select(func.count()).select_from(PublishedSnapshot)):
            publish_ended_periods()
        email = "actions-manager@browser.sonla.gov.vn"
        data = {"email": email, "secret": ensure_staff(email, "agency_manager", UNIT)}
        db.session.remove()
    return data


def _sign_in(page, manager: dict) -> None:
    sign_in_with_totp(page, manager["email"], manager["secret"], landing="**/agency/")


def _tab_to(page, selector: str, presses: int = 80) -> None:
    """Press Tab until the element ``selector`` has the focus (as a keyboard user would)."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} never got the focus with Tab")


def test_keyboard_only_manager_records_a_plan_and_the_public_page_shows_it(browser, live_server, live_app, manager):
    page = open_page(browser, live_server)
    try:
        _sign_in(page, manager)
        page.goto(f"/agency/units/{UNIT}/actions/new?lang=vi")
        assert_no_axe_violations(page, "new action plan form, vi")

        # An empty form is refused with the problems listed: axe on the page with errors too.
        _tab_to(page, "main form button[type=submit]")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.locator(".error-summary").count() == 1
        assert_no_axe_violations(page, "new action plan form with errors, vi")

        page.goto(f"/agency/units/{UNIT}/actions/new?lang=vi")
        _tab_to(page, "#field-subject")
        page.keyboard.press("ArrowDown")
        assert page.eval_on_selector("#field-subject", "e => e.value").startswith("aspect:sat-agencies:")
        _tab_to(page, "#field-said")
        page.keyboard.type(SAID)
        _tab_to(page, "#field-action")
        page.keyboard.type(ACTION)
        _tab_to(page, "#field-responsible")
        page.keyboard.type("Bộ phận tiếp nhận và trả kết quả")
        _tab_to(page, "#field-due_on")
        page.keyboard.type("31/12/2030")
        _tab_to(page, "main form button[type=submit]")
        page.keyboard.press("Enter")
        page.wait_for_url("**/agency/actions/*")
        assert page.get_by_text(ACTION).count() == 1
        assert_no_axe_violations(page, "action plan page, vi")
        plan_url = page.url
        page.goto(f"/agency/units/{UNIT}/actions?lang=en")
        assert_no_axe_violations(page, "action plans list, en")
        page.goto(plan_url.split("?")[0] + "?lang=en")
        assert_no_axe_violations(page, "action plan page, en")
    finally:
        page.context.close()

    visitor = open_page(browser, live_server)
    try:
        for lang in ("vi", "en"):
            answer = visitor.goto(f"/units/{UNIT}?lang={lang}")
            assert answer is not None and answer.status == 200
            section = visitor.locator("section[aria-labelledby=actions-heading]")
            assert section.get_by_text(SAID).count() == 1 and section.get_by_text(ACTION).count() == 1
            assert section.locator("table").count() >= 1  # the aspect's published rate beside the plan
            assert_no_axe_violations(visitor, f"public unit page with an action plan, {lang}")
    finally:
        visitor.context.close()

    from webapp.extensions import db
    from webapp.models import AuditEvent
    from webapp.models.insights import ActionPlan

    with live_app.app_context():
        plan = db.session.scalar(select(ActionPlan).where(ActionPlan.action == ACTION))
        assert plan is not None and plan.due_on.isoformat() == "2030-12-31" and plan.status == "planned"
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "action_plan.create", AuditEvent.object_id == str(plan.id))
            )
            == 1
        )
        db.session.remove()
