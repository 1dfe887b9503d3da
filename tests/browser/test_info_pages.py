"""The plan, methodology and open data pages in a real browser: axe, in both languages, also at 320 px."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from tests.browser.axe import assert_no_axe_violations

LANGUAGES = ["vi", "en"]
PAGES = ["/plan", "/methodology", "/data"]


@pytest.fixture(scope="module")
def with_publication(live_app):
    """At least one published quarter (and a revision), so that figures, tables and the log are on the pages.

    Publishing only adds snapshots: nothing other browser tests read is changed or removed.
    """
    from webapp.extensions import db
    from webapp.models import PublishedSnapshot
    from webapp.periods import Period
    from webapp.publishing.compute import period_inputs
    from webapp.publishing.publish import PublishError, ended_periods, publish_period

    with live_app.app_context():
        if not db.session.query(PublishedSnapshot).count():
            # The last few ended periods are enough (publishing all since 2012 takes long).
            inputs = period_inputs()
            today = datetime.now(UTC)
            for period in ended_periods(Period(today.year - 1, "Y", 1), today)[-4:]:
                with contextlib.suppress(PublishError):
                    publish_period(period.label, inputs=inputs)
        latest = db.session.query(PublishedSnapshot).order_by(PublishedSnapshot.id.desc()).first()
        assert latest is not None, "the browser demo data should give at least one publishable period"
        if latest.revision == 1:
            with contextlib.suppress(PublishError):
                publish_period(latest.period, reason="Biểu mẫu giấy nộp muộn đã được nhập.", actor="cli")
        db.session.remove()


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("path", PAGES)
def test_info_pages_have_no_axe_violations(page, with_publication, path, lang):
    response = page.goto(f"{path}?lang={lang}")
    assert response is not None and response.status == 200
    assert page.locator("html").get_attribute("lang") == lang
    expect(page.locator("h1")).to_have_count(1)
    assert_no_axe_violations(page, f"{path}, {lang}")


@pytest.mark.parametrize("path", PAGES)
def test_info_pages_reflow_at_320_pixels(narrow_page, with_publication, path):
    narrow_page.goto(path)
    assert_no_axe_violations(narrow_page, f"{path}, 320 px")
    width = narrow_page.evaluate("document.documentElement.scrollWidth")
    wide = narrow_page.evaluate(
        "[...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > 321)"
        ".map(e => e.tagName + ': ' + e.textContent.slice(0, 60))"
    )
    assert width <= 320, f"{path} scrolls sideways at 320 px ({width} px wide): {wide[:8]}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_privacy_withdraw_page_and_its_error_have_no_axe_violations(page, lang):
    response = page.goto(f"/privacy/withdraw?lang={lang}")
    assert response is not None and response.status == 200
    assert page.locator("html").get_attribute("lang") == lang
    assert_no_axe_violations(page, f"/privacy/withdraw, {lang}")
    page.fill("#code", "ABCD")
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".error-summary")).to_be_visible()
    expect(page.locator("#code")).to_have_attribute("aria-describedby", "code-hint code-error")
    assert_no_axe_violations(page, f"/privacy/withdraw with a mistyped code, {lang}")
