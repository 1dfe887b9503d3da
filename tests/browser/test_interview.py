"""An assisted interview in Chromium on a phone-size screen, by keyboard only: the interviewer signs
in, finds the office, picks the service, fills the quick rating with the respondent and starts the
next one; axe finds nothing on any page, and nothing scrolls sideways."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.axe import assert_no_axe_violations
from tests.browser.conftest import ensure_staff, open_narrow_page, sign_in_with_totp
from tests.browser.test_survey import tab_until

WARD = "n03646"
CENTRE = "ttpv-n03646"
EMAIL = "interviewer@browser.sonla.gov.vn"


def no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), page.url


def assisted_ids(live_app) -> list[int]:
    from webapp.extensions import db
    from webapp.models import Response, Unit

    with live_app.app_context():
        ids = list(
            db.session.scalars(
                select(Response.id)
                .join(Unit, Response.unit_id == Unit.id)
                .where(Unit.code == CENTRE, Response.mode == "assisted")
                .order_by(Response.id)
            )
        )
        db.session.remove()
    return ids


def test_an_interview_on_a_phone_by_keyboard(browser, live_server, live_app):
    with live_app.app_context():
        secret = ensure_staff(EMAIL, "interviewer", WARD)
    before = assisted_ids(live_app)
    page = open_narrow_page(browser, live_server)
    try:
        sign_in_with_totp(page, EMAIL, secret, landing="**/interview/")
        assert_no_axe_violations(page, "interview: pick an office")
        no_sideways_scroll(page)
        tab_until(page, "#unit-query")
        page.keyboard.type("phuc vu")
        page.keyboard.press("Enter")
        page.wait_for_url("**/interview/?q=*")
        tab_until(page, f"a[href='/interview/{CENTRE}']")
        page.keyboard.press("Enter")
        page.wait_for_url(f"**/interview/{CENTRE}")
        assert_no_axe_violations(page, "interview: pick a service")
        no_sideways_scroll(page)
        tab_until(page, "a[href*='/counter-quick?service=civil-status']")
        page.keyboard.press("Enter")
        page.wait_for_url("**/counter-quick?service=civil-status")
        expect(page.locator("#interview-banner")).to_be_visible()
        assert_no_axe_violations(page, "interview: the question")
        no_sideways_scroll(page)
        tab_until(page, "input[name=overall]")
        page.keyboard.press("ArrowDown")
        expect(page.locator("input[name=overall][value='4']")).to_be_checked()
        tab_until(page, ".survey-form button[type=submit]")
        page.keyboard.press("Enter")
        page.wait_for_url("**/thanks?**")
        assert_no_axe_violations(page, "interview: sent")
        no_sideways_scroll(page)
        after = assisted_ids(live_app)
        assert len(after) == len(before) + 1
        tab_until(page, "main form button[type=submit]")
        page.keyboard.press("Enter")
        page.wait_for_url("**/counter-quick?service=civil-status")
        expect(page.locator("input[name=overall]:checked")).to_have_count(0)
    finally:
        page.context.close()
