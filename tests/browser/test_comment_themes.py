"""Comment themes in Chromium: a manager corrects a comment's themes without JavaScript-only
controls; the theme tables of the agency dashboard and the public unit page pass axe in both
languages; a refused correction shows an error summary that passes axe too."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.browser.axe import assert_no_axe_violations
from tests.browser.conftest import ensure_staff, open_page, sign_in_with_totp


@pytest.fixture(scope="module")
def public_minimum():
    """The browser demo is small (2,000 responses over many years and units): the public themes table
    shows a quarter from 3 published comments in this module instead of 10 (the server runs in-process)."""
    from webapp.insights import themes

    saved = themes.PUBLIC_MIN_COMMENTS
    themes.PUBLIC_MIN_COMMENTS = 3
    yield themes.PUBLIC_MIN_COMMENTS
    themes.PUBLIC_MIN_COMMENTS = saved


@pytest.fixture(scope="module")
def themes_data(live_app, public_minimum) -> dict:
    """Ten themed, published comments in a unit's latest quarter (and the demo's comments themed); its manager."""

    from webapp.demo.comments import NEGATIVE
    from webapp.extensions import db
    from webapp.insights.themes import assign_missing
    from webapp.models import Response, Unit, utcnow
    from webapp.models.feedback import CommentReview

    with live_app.app_context():
        # The public table shows the last four quarters up to the latest with published themed comments,
        # a quarter from `public_minimum` of them: give that many responses of a unit's latest quarter a
        # comment (the small browser demo has few), theme them and publish them.
        def index(label: str) -> int:
            return int(label[:4]) * 4 + int(label[-1])

        published_latest = dict(
            db.session.execute(
                select(Response.unit_id, func.max(Response.period))
                .join(CommentReview, CommentReview.response_id == Response.id)
                .where(CommentReview.status == "published")
                .group_by(Response.unit_id)
            ).all()
        )
        # A quarter with enough responses that stays inside its unit's four-quarter window.
        unit_id, period = max(
            (
                (count, unit_id, period)
                for unit_id, period, count in db.session.execute(
                    select(Response.unit_id, Response.period, func.count()).group_by(Response.unit_id, Response.period)
                )
                if count >= public_minimum and index(period) > index(published_latest.get(unit_id, period)) - 4
            ),
        )[1:]
        unit = db.session.get(Unit, unit_id)
        responses = db.session.scalars(
            select(Response)
            .where(Response.unit_id == unit_id, Response.period == period)
            .order_by(Response.id)
            .limit(public_minimum)
        ).all()
        assert len(responses) == public_minimum
        for index, response in enumerate(responses):
            response.comment = response.comment or NEGATIVE[index % len(NEGATIVE)]
        db.session.flush()
        assign_missing()
        ids = [r.id for r in responses]
        for response_id in ids:
            review = db.session.get(CommentReview, response_id)
            if review is None:
                db.session.add(CommentReview(response_id=response_id, status="published", reviewed_at=utcnow()))
            elif review.status != "published":
                review.status, review.hidden_reason, review.reviewed_at = "published", None, utcnow()
        db.session.commit()
        email = f"themes-{unit.code}@browser.sonla.gov.vn"
        secret = ensure_staff(email, "agency_manager", unit.code)
        data = {"unit": unit.code, "email": email, "secret": secret, "comment": ids[0]}
        db.session.remove()
    return data


@pytest.fixture(scope="module")
def themes_state(browser, live_server, themes_data) -> dict:
    page = open_page(browser, live_server)
    try:
        sign_in_with_totp(page, themes_data["email"], themes_data["secret"], landing="**/agency/")
        return page.context.storage_state()
    finally:
        page.context.close()


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_theme_tables_pass_axe(browser, live_server, themes_data, themes_state, lang):
    page = open_page(browser, live_server, storage_state=themes_state)
    try:
        for path in (f"/agency/units/{themes_data['unit']}", f"/units/{themes_data['unit']}"):
            response = page.goto(f"{path}?lang={lang}")
            assert response is not None and response.status == 200, path
            assert page.locator("#themes-heading").count() == 1, path
            assert page.locator("#themes-heading ~ div table tbody tr").count() == 8, path
            # At least one quarter shows its counts (public: one with enough published comments).
            assert page.locator("#themes-heading ~ div table thead th[scope=colgroup]").count() >= 1, path
            assert_no_axe_violations(page, f"{path} themes, {lang}")
    finally:
        page.context.close()


def test_manager_corrects_themes_and_a_refused_correction_is_explained(
    browser, live_server, live_app, themes_data, themes_state
):
    page = open_page(browser, live_server, storage_state=themes_state)
    comment = themes_data["comment"]
    try:
        page.goto(f"/agency/comments/{comment}?lang=vi")
        assert_no_axe_violations(page, "comment with themes form, vi")
        for select_box in page.locator("select[id^='field-theme-']").all():
            select_box.select_option("")
        page.locator(f"form[action$='/comments/{comment}/themes'] button").click()
        assert page.locator(".error-summary").count() == 1
        assert_no_axe_violations(page, "refused theme correction, vi")
        page.select_option("#field-theme-fees", "complaint")
        page.locator(f"form[action$='/comments/{comment}/themes'] button").click()
        page.wait_for_url(f"**/agency/units/{themes_data['unit']}/comments**")
        assert page.locator(".notice[role=status]").count() == 1
    finally:
        page.context.close()

    from webapp.extensions import db
    from webapp.models.insights import CommentTheme

    with live_app.app_context():
        rows = db.session.scalars(select(CommentTheme).where(CommentTheme.response_id == comment)).all()
        db.session.remove()
    assert [(r.theme, r.negative, r.source) for r in rows] == [("fees", True, "moderator")]
