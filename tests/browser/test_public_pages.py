"""The indicator and unit pages in a real browser: axe in both languages, reflow at 320 px."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.browser.axe import assert_no_axe_violations

LANGUAGES = ["vi", "en"]
INDICATOR = "sat-agencies"


@pytest.fixture(scope="session")
def published_unit(live_app) -> str:
    """Publish the live demo's ended periods; the code of a unit with the most published rows."""
    from webapp.extensions import db
    from webapp.models import PublishedEstimate
    from webapp.publishing.publish import publish_ended_periods

    with live_app.app_context():
        publish_ended_periods()
        assert db.session.scalar(select(func.count()).select_from(PublishedEstimate)), "nothing was published"
        best = db.session.execute(
            select(PublishedEstimate.domain, func.count(PublishedEstimate.estimate), func.sum(PublishedEstimate.n))
            .where(PublishedEstimate.domain_type == "unit")
            .group_by(PublishedEstimate.domain)
            .order_by(func.count(PublishedEstimate.estimate).desc(), func.sum(PublishedEstimate.n).desc())
            .limit(1)
        ).first()
        db.session.remove()
    return best[0] if best else "sl-ttpvhcc"


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_indicator_page_has_no_axe_violations(page, published_unit, lang):
    response = page.goto(f"/indicators/{INDICATOR}?lang={lang}")
    assert response is not None and response.status == 200
    assert page.locator("svg[role=img]").count() >= 1
    assert_no_axe_violations(page, f"indicator page, {lang}")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_unit_page_has_no_axe_violations(page, published_unit, lang):
    response = page.goto(f"/units/{published_unit}?lang={lang}")
    assert response is not None and response.status == 200
    assert_no_axe_violations(page, f"unit page, {lang}")


def test_unit_search_has_no_axe_violations(page, published_unit):
    page.goto("/units?q=chieng&lang=vi")
    assert page.locator("main ul a").count() > 0
    assert_no_axe_violations(page, "unit search, vi")


@pytest.mark.parametrize("path", [f"/indicators/{INDICATOR}?lang=vi", "/units?q=son+la&lang=vi", "UNIT"])
def test_public_pages_do_not_scroll_sideways_at_320_px(narrow_page, published_unit, path):
    if path == "UNIT":
        path = f"/units/{published_unit}?lang=vi"
    narrow_page.goto(path)
    assert no_horizontal_scroll(narrow_page), f"{path} scrolls sideways at 320 px"
    # Every chart fits the column.
    for box in (svg.bounding_box() for svg in narrow_page.locator("svg.chart").all()):
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 320 + 0.5
