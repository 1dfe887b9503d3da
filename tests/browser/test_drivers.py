"""Key drivers in Chromium: the priority matrix (SVG) and its table on the agency dashboard and the
public unit page pass axe in both languages, and the chart is announced as an image with a name.

The browser demo is too small for a model (2,000 responses over fifteen years), so the fixture adds
driver rows to the latest published quarter for the sector of :data:`UNIT` — five aspects, one not
estimable — as :mod:`webapp.publishing.drivers` would store them.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.browser.axe import assert_no_axe_violations
from tests.browser.conftest import ensure_staff, open_page, sign_in_with_totp

#: The provincial public administration service centre (admin sector).
UNIT = "sl-ttpvhcc"
ASPECTS = (
    ("civil_servant", 0.71, 2.9),
    ("access", 0.78, 2.4),
    ("feedback", 0.83, 1.6),
    ("result", 0.86, 1.2),
    ("procedure", 0.80, None),
)


@pytest.fixture(scope="module")
def viewer(live_app) -> dict:

    from webapp.extensions import db
    from webapp.models import PublishedDriver, PublishedSnapshot
    from webapp.publishing.publish import publish_ended_periods

    with live_app.app_context():
        if not db.session.scalar(select(func.count()).select_from(PublishedSnapshot)):
            publish_ended_periods()
        latest = max(
            (s for s in db.session.scalars(select(PublishedSnapshot)) if "-Q" in s.period),
            key=lambda s: (s.period, s.revision),
        )
        if not db.session.scalar(
            select(func.count()).select_from(PublishedDriver).where(PublishedDriver.snapshot_id == latest.id)
        ):
            for rank, (aspect, rate, coefficient) in enumerate(ASPECTS, start=1):
                db.session.add(
                    PublishedDriver(
                        snapshot_id=latest.id,
                        indicator="sat-agencies",
                        domain_type="sector",
                        domain="admin",
                        aspect=aspect,
                        n=412,
                        performance=rate,
                        coefficient=coefficient,
                        se=None if coefficient is None else 0.3,
                        ci_low=None if coefficient is None else coefficient - 0.6,
                        ci_high=None if coefficient is None else coefficient + 0.6,
                        rank=None if coefficient is None else rank,
                        extra={
                            "method": "svyglm-logit-1",
                            "df": 380,
                            "events": 330,
                            "odds_ratio": None if coefficient is None else 2.718281828**coefficient,
                            "quadrant": None if coefficient is None else ("fix_first" if rank <= 2 else "keep_up"),
                            **({"note": "separation"} if coefficient is None else {}),
                        },
                    )
                )
        db.session.commit()
        email = "drivers-viewer@browser.sonla.gov.vn"
        data = {"email": email, "secret": ensure_staff(email, "viewer", UNIT)}
        db.session.remove()
    return data


def _sign_in(page, viewer: dict) -> None:
    sign_in_with_totp(page, viewer["email"], viewer["secret"], landing="**/agency/")


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_priority_matrix_passes_axe_on_both_pages(browser, live_server, viewer, lang):
    page = open_page(browser, live_server)
    try:
        if lang == "vi":
            _sign_in(page, viewer)
            paths = (f"/agency/units/{UNIT}", f"/units/{UNIT}")
        else:
            paths = (f"/units/{UNIT}",)
        for path in paths:
            response = page.goto(f"{path}?lang={lang}")
            assert response is not None and response.status == 200, path
            chart = page.locator("svg.chart-priority[role=img]")
            assert chart.count() == 1, path
            assert chart.get_attribute("aria-labelledby")
            assert page.locator("table.drivers tbody tr").count() == len(ASPECTS), path
            assert_no_axe_violations(page, f"{path} drivers, {lang}")
    finally:
        page.context.close()
