"""The agency area in Chromium: a manager moderates a comment and downloads a report; axe in
both languages on every agency page; no sideways scrolling at 320 px."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from tests.browser.axe import assert_no_axe_violations
from tests.browser.conftest import open_narrow_page, open_page

PASSWORD = "agency browser password 2026"  # noqa: S105 (test account only)
LANGUAGES = ["vi", "en"]


@pytest.fixture(scope="module")
def agency_data(live_app) -> dict:
    """Publish the demo's ended periods; a manager of the unit with the most pending comments,
    with a kiosk tablet and a receipt token to list."""
    import pyotp

    from surveys.devices import create_device
    from surveys.tokens import issue_token
    from webapp.extensions import db
    from webapp.models import PublishedSnapshot, ReceiptToken, Response, Unit, User
    from webapp.models.feedback import CommentReview
    from webapp.publishing.publish import publish_ended_periods
    from webapp.users import hash_password

    with live_app.app_context():
        if not db.session.scalar(select(func.count()).select_from(PublishedSnapshot)):
            publish_ended_periods()
        unit_id = db.session.execute(
            select(Response.unit_id, func.count())
            .outerjoin(CommentReview, CommentReview.response_id == Response.id)
            .where(Response.comment.is_not(None), CommentReview.response_id.is_(None))
            .group_by(Response.unit_id)
            .order_by(func.count().desc(), Response.unit_id)
            .limit(1)
        ).first()[0]
        unit = db.session.get(Unit, unit_id)
        secret = pyotp.random_base32()
        email = f"manager-{unit.code}@browser.sonla.gov.vn"
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(
                email=email,
                password_hash=hash_password(PASSWORD),
                role="agency_manager",
                unit=unit,
                must_change_password=False,
                totp_secret=secret,
            )
            db.session.add(user)
        device = create_device(unit, "Quầy thử nghiệm", "Máy 9").device
        if unit.services:
            issue_token(unit, unit.services[0], f"HS-BROWSER-{time.time_ns()}")
        db.session.commit()
        token_id = db.session.scalar(select(ReceiptToken.id).where(ReceiptToken.unit_id == unit.id).limit(1))
        data = {"unit": unit.code, "email": email, "secret": user.totp_secret, "device": device.id, "token": token_id}
        db.session.remove()
    return data


def _fresh_code(secret: str, used: set[int]) -> str:
    """A TOTP code of a step not used yet in this module (the server refuses replays)."""
    import pyotp

    totp = pyotp.TOTP(secret)
    step = int(time.time() // totp.interval)
    while step in used or (used and step <= max(used)):
        step += 1
    if step > int(time.time() // totp.interval) + 1:  # no accepted step left: wait for the next one
        time.sleep(totp.interval - time.time() % totp.interval + 0.5)
        step = int(time.time() // totp.interval)
    used.add(step)
    return totp.at(step * totp.interval)


@pytest.fixture(scope="module")
def signed_in_state(browser, live_server, agency_data) -> dict:
    """Sign in once through the real forms (password, then TOTP); the cookies for later pages."""
    page = open_page(browser, live_server)
    try:
        page.goto("/auth/login?lang=vi")
        page.fill("#field-email", agency_data["email"])
        page.fill("#field-password", PASSWORD)
        page.locator("main form button[type=submit]").click()
        page.wait_for_url("**/auth/code")
        page.fill("#field-code", _fresh_code(agency_data["secret"], set()))
        page.locator("main form button[type=submit]").click()
        page.wait_for_url("**/agency/")
        assert page.locator("h1").count() == 1
        return page.context.storage_state()
    finally:
        page.context.close()


def _agency_paths(data: dict) -> list[str]:
    unit = data["unit"]
    return [
        "/agency/",
        f"/agency/units/{unit}",
        f"/agency/units/{unit}/comments",
        f"/agency/units/{unit}/comments?status=all",
        f"/agency/units/{unit}/devices",
        f"/agency/units/{unit}/poster",
        f"/agency/units/{unit}/reports",
        f"/agency/devices/{data['device']}/revoke",
        f"/agency/tokens/{data['token']}/revoke",
    ]


def test_manager_publishes_and_answers_a_comment_then_downloads_a_report(
    browser, live_server, live_app, agency_data, signed_in_state
):
    page = open_page(browser, live_server, storage_state=signed_in_state)
    try:
        unit = agency_data["unit"]
        page.goto(f"/agency/units/{unit}/comments?lang=vi")
        first = page.locator("ol.inbox > li").first
        detail_link = first.locator("a[id$='-more']")
        response_id = int(detail_link.get_attribute("id").split("-")[1])
        detail_link.click()
        page.wait_for_url(f"**/agency/comments/{response_id}**")
        assert_no_axe_violations(page, "comment detail, vi")
        page.locator(f"form[action$='/comments/{response_id}/publish'] button").click()
        page.wait_for_url(f"**/agency/units/{unit}/comments**")
        assert page.locator(".notice[role=status]").count() == 1
        page.goto(f"/agency/comments/{response_id}?lang=vi")
        page.fill("#field-reply", "Đơn vị đã bố trí thêm cán bộ tiếp nhận hồ sơ buổi sáng.")
        page.locator(f"form[action$='/comments/{response_id}/reply'] button").click()
        page.wait_for_url(f"**/agency/units/{unit}/comments**")
        public = page.goto(f"/units/{unit}?lang=vi")
        assert public is not None and public.status == 200
        assert page.get_by_text("Đơn vị đã bố trí thêm cán bộ tiếp nhận hồ sơ buổi sáng.").count() == 1

        page.goto(f"/agency/units/{unit}/reports?lang=vi")
        options = page.locator("#field-period option[value]:not([value=''])")
        assert options.count() >= 1
        page.select_option("#field-period", options.first.get_attribute("value"))
        page.locator("label[for='field-format-2']").click()
        # The report is made by a background job: its page refreshes itself until the file is ready.
        page.locator("main form button[type=submit]").click()
        page.wait_for_url(f"**/agency/units/{unit}/reports/jobs/**")
        link = page.locator("main a[download]")
        link.wait_for(timeout=60_000)
        assert_no_axe_violations(page, "report job, vi")
        with page.expect_download() as download_info:
            link.click()
        download = download_info.value
        assert download.suggested_filename.endswith(".xlsx") and unit in download.suggested_filename
    finally:
        page.context.close()

    from webapp.extensions import db
    from webapp.models import AuditEvent

    with live_app.app_context():
        actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == str(response_id))))
        db.session.remove()
    assert {"comment.publish", "comment.reply"} <= actions


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_agency_page_has_no_axe_violations(browser, live_server, agency_data, signed_in_state, lang):
    page = open_page(browser, live_server, storage_state=signed_in_state)
    try:
        for path in _agency_paths(agency_data):
            separator = "&" if "?" in path else "?"
            response = page.goto(f"{path}{separator}lang={lang}")
            assert response is not None and response.status == 200, path
            assert_no_axe_violations(page, f"{path}, {lang}")
    finally:
        page.context.close()


def test_agency_pages_reflow_at_320_px(browser, live_server, agency_data, signed_in_state):
    page = open_narrow_page(browser, live_server, storage_state=signed_in_state)
    try:
        for path in _agency_paths(agency_data):
            separator = "&" if "?" in path else "?"
            page.goto(f"{path}{separator}lang=vi")
            wide = page.evaluate(
                "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 321"
                " && !e.closest('.table-scroll')).map(e => e.tagName + '.' + e.className + ': ' + e.textContent.slice(0, 50))"
            )
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 320, f"{path} scrolls sideways at 320 px ({width}): {wide[:5]}"
            assert_no_axe_violations(page, f"{path}, 320 px")
    finally:
        page.context.close()
