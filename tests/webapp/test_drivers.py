"""Key drivers on the published demo: stored at publishing, disclosed like rates, shown on the unit pages.

The demo plants two key drivers per sector (``webapp.demo.seed.PLANTED_DRIVERS``): the agency
dashboard must list them first.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.conftest import STAFF_PASSWORD, csrf_from, next_totp_code
from tests.pages import check_page
from tests.webapp.published_demo import NOW, PERIOD, PREVIOUS, published_app


@pytest.fixture(scope="module")
def published(app):
    with published_app(app, responses=12_000, seed=14, first_quarter=PREVIOUS, periods=[PREVIOUS, PERIOD]) as ready:
        yield ready


@pytest.fixture()
def session(published):
    from webapp.extensions import db

    with published.app_context():
        yield db.session
        db.session.remove()


def _snapshot(session, period=PERIOD):
    from webapp.publishing.publish import current_snapshot

    return current_snapshot(period)


def _drivers(session, snapshot, **where):
    from webapp.models import PublishedDriver

    query = select(PublishedDriver).where(PublishedDriver.snapshot_id == snapshot.id)
    for name, value in where.items():
        query = query.where(getattr(PublishedDriver, name) == value)
    return session.scalars(query.order_by(PublishedDriver.rank)).all()


def _busiest_unit(session, sector):
    """The unit of ``sector`` with the most long questionnaires (answers about aspects) in ``PERIOD``."""
    from webapp.models import Response, ResponseScore, Unit

    return session.execute(
        select(Unit.code)
        .join(Response, Response.unit_id == Unit.id)
        .join(ResponseScore, ResponseScore.response_id == Response.id)
        .where(
            Unit.sector == sector,
            Response.period == PERIOD,
            Response.status == "valid",
            ResponseScore.metric.like("aspect:%"),
        )
        .group_by(Unit.code)
        .order_by(func.count().desc())
        .limit(1)
    ).scalar_one()


@pytest.mark.parametrize(("indicator", "sector"), [("sat-agencies", "admin"), ("sat-health", "health")])
def test_each_snapshot_stores_the_planted_drivers_first(session, indicator, sector):
    from webapp.demo.seed import PLANTED_DRIVERS

    for period in (PREVIOUS, PERIOD):
        rows = _drivers(session, _snapshot(session, period), indicator=indicator, domain_type="sector", domain=sector)
        assert {r.aspect for r in rows if r.rank in (1, 2)} == set(PLANTED_DRIVERS[sector]), period
        top = rows[0]
        assert top.ci_low < top.coefficient < top.ci_high and top.se > 0
        assert top.extra["method"] == "svyglm-logit-1" and top.extra["odds_ratio"] > 1


def test_drivers_are_disclosed_only_where_the_rates_are(session):
    """Every row sits in a domain with a published overall rate, shows the published aspect rate as its
    performance, and rests on enough complete cases and events; no unit of the demo has enough."""
    from webapp.models import PublishedEstimate
    from webapp.publishing import drivers as publishing

    snapshot = _snapshot(session)
    published = {
        (e.metric, e.domain_type, e.domain): e
        for e in session.scalars(
            select(PublishedEstimate).where(
                PublishedEstimate.snapshot_id == snapshot.id, PublishedEstimate.estimate.is_not(None)
            )
        )
    }
    rows = _drivers(session, snapshot)
    assert rows
    for row in rows:
        assert (row.indicator, row.domain_type, row.domain) in published
        rate_domain = ("province", "sl") if row.domain_type == "sector" else (row.domain_type, row.domain)
        assert row.performance == published[(f"{row.indicator}/aspect:{row.aspect}", *rate_domain)].estimate
        aspects = len(
            _drivers(session, snapshot, indicator=row.indicator, domain_type=row.domain_type, domain=row.domain)
        )
        assert row.n >= publishing.MIN_COMPLETE
        assert min(row.extra["events"], row.n - row.extra["events"]) >= publishing.EVENTS_PER_PARAMETER * aspects
    assert not [r for r in rows if r.domain_type == "unit"]


def _agency_client(published, unit_code):
    import pyotp

    from webapp.extensions import db, limiter
    from webapp.models import Unit, User
    from webapp.users import hash_password

    limiter.reset()
    with published.app_context():
        user = User(
            email=f"viewer-drivers-{unit_code}@sonla.gov.vn",
            password_hash=hash_password(STAFF_PASSWORD),
            role="viewer",
            unit=db.session.scalar(select(Unit).where(Unit.code == unit_code)),
            must_change_password=False,
            totp_secret=pyotp.random_base32(),
        )
        db.session.add(user)
        db.session.commit()
        http = published.test_client()
        page = http.get("/auth/login")
        http.post("/auth/login", data={"csrf_token": csrf_from(page), "email": user.email, "password": STAFF_PASSWORD})
        page = http.get("/auth/code")
        answer = http.post("/auth/code", data={"csrf_token": csrf_from(page), "code": next_totp_code(user)})
        assert answer.status_code == 302
        db.session.remove()
    return http


def _table(soup):
    table = soup.select_one("table.drivers")
    assert table is not None
    return [(tr.select("td")[0].get_text(strip=True), tr["data-aspect"]) for tr in table.select("tbody tr")]


def test_agency_dashboard_lists_the_planted_drivers_at_the_top(published, session):
    from webapp.demo.seed import PLANTED_DRIVERS

    unit = _busiest_unit(session, "admin")
    http = _agency_client(published, unit)
    soup = check_page(http.get(f"/agency/units/{unit}?lang=en"))
    section = soup.find(id="drivers-heading").find_parent("section")
    ranked = _table(section)
    assert {aspect for _, aspect in ranked[:2]} == set(PLANTED_DRIVERS["admin"])
    assert [rank for rank, _ in ranked[:2]] == ["1", "2"]
    text = " ".join(section.get_text(" ").split())
    assert "Association, not cause" in text and PERIOD in text
    assert "whole sector" in text  # too few ratings at one unit: the sector's model, said so
    svg = section.select_one("svg.chart-priority")
    assert svg["role"] == "img" and svg.find("title") and svg.find("desc")
    assert svg.select("line.target") and len(svg.select("text.quadrant")) == 4
    assert len(svg.select("circle.point")) == len([r for r, _ in ranked if r != "–"])


def test_public_unit_page_shows_the_matrix_and_leaves_the_cache_with_a_new_snapshot(published, session, monkeypatch):
    """A revision whose models reach a unit replaces the sector's matrix by the unit's own (not a stale page)."""
    from webapp.extensions import limiter
    from webapp.models import PublishedDriver, PublishedEstimate, Unit
    from webapp.publishing import drivers as publishing
    from webapp.publishing.publish import publish_period

    snapshot = _snapshot(session)
    candidates = sorted(
        set(
            session.scalars(
                select(PublishedEstimate.domain)
                .join(Unit, Unit.code == PublishedEstimate.domain)
                .where(
                    PublishedEstimate.snapshot_id == snapshot.id,
                    PublishedEstimate.domain_type == "unit",
                    PublishedEstimate.metric.like("sat-%/aspect:%"),
                    PublishedEstimate.estimate.is_not(None),
                    Unit.sector.in_(["admin", "health"]),
                )
            )
        )
    )
    assert candidates
    limiter.reset()
    web = published.test_client()
    for unit in candidates:  # each page is now cached
        soup = check_page(web.get(f"/units/{unit}?lang=en"))
        section = soup.find(id="drivers-heading").find_parent("section")
        assert "whole sector" in section.get_text(" ")
        assert section.select_one("svg.chart-priority") is not None and section.select_one("table.drivers") is not None

    monkeypatch.setattr(publishing, "MIN_COMPLETE", 20)
    monkeypatch.setattr(publishing, "EVENTS_PER_PARAMETER", 1)
    revised = publish_period(PERIOD, reason="Drivers test: a revision gets its own driver rows", now=NOW)
    own = session.scalars(
        select(PublishedDriver).where(
            PublishedDriver.snapshot_id == revised.snapshot_id, PublishedDriver.domain_type == "unit"
        )
    ).all()
    assert own, "the revision stores unit models"
    unit = own[0].domain
    assert unit in candidates
    soup = check_page(web.get(f"/units/{unit}?lang=en"))
    section = soup.find(id="drivers-heading").find_parent("section")
    assert "whole sector" not in section.get_text(" ")
    assert {aspect for _, aspect in _table(section)} == {r.aspect for r in own if r.domain == unit}
