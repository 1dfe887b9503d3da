"""Drop-off of the online survey: anonymous per-page counters and the admin page that shows them."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.pages import check_page
from tests.surveys.test_online import PAGES, answer_pages, survey_url
from webapp.extensions import limiter
from webapp.models import Instrument
from webapp.models.collection import SUBMITTED_PAGE, DropoffCount


@pytest.fixture(autouse=True)
def fresh_rate_limits(app):
    with app.app_context():
        limiter.reset()


def counts(db) -> dict[int, int]:
    """Sessions per page of the active admin-procedure version (0: answers sent), all days."""
    db.session.expire_all()
    instrument_id = db.session.scalar(
        select(Instrument.id).where(Instrument.code == "admin-procedure", Instrument.active.is_(True))
    )
    rows = db.session.execute(
        select(DropoffCount.page, func.sum(DropoffCount.sessions))
        .where(DropoffCount.instrument_id == instrument_id)
        .group_by(DropoffCount.page)
    ).all()
    return {page: int(total) for page, total in rows}


def test_each_page_counts_a_session_once_and_sending_counts_apart(client, app, db, registry):
    check_page(client.get(survey_url()))
    check_page(client.get(survey_url()))  # coming back to a page does not count again
    assert counts(db) == {1: 1}
    answer_pages(client, PAGES[:2])  # pages 1 and 2 answered; page 3 not opened yet
    assert counts(db) == {1: 1, 2: 1}
    check_page(client.get(survey_url(3)))
    check_page(client.get(survey_url(2)))  # the Back link
    assert counts(db) == {1: 1, 2: 1, 3: 1}

    other = app.test_client()
    answer_pages(other, PAGES)
    assert counts(db) == {1: 2, 2: 2, 3: 2, 4: 1, 5: 1, 6: 1, 7: 1, 8: 1, SUBMITTED_PAGE: 1}
    rows = db.session.scalars(select(DropoffCount).where(DropoffCount.page == 2)).all()
    assert {row.section for row in rows} == {"access"}
    # Nothing about the sessions is kept: a counter per instrument version, day and page.
    assert {column.name for column in DropoffCount.__table__.columns} == {
        "id",
        "instrument_id",
        "day",
        "page",
        "section",
        "sessions",
    }


def test_admin_page_shows_the_share_reaching_each_page(client, app, db, registry, make_user, sign_in):
    answer_pages(client, PAGES)
    answer_pages(app.test_client(), PAGES[:3])
    admin = app.test_client()
    sign_in(make_user("admin"), admin)
    soup = check_page(admin.get("/admin/dropoff?lang=en"), lang="en")
    table = soup.find("table")
    assert "admin-procedure, version" in soup.get_text()
    rows = {
        tr.th.get_text(strip=True): [td.get_text(strip=True) for td in tr.find_all("td")]
        for tr in table.tbody.find_all("tr")
    }
    assert rows["1"][1:] == ["2", "100%"] or rows["1"][1:] == ["2", "100.0%"]
    assert rows["2"][0] == "1. Access to public administrative services"
    assert rows["4"][1] == "1" and rows["4"][2].startswith("50")
    assert rows["Answers sent"][0] == "1" and rows["Answers sent"][1].startswith("50")


@pytest.mark.parametrize("role", ["viewer", "agency_manager"])
def test_the_page_is_for_administrators_only(client, make_user, sign_in, role):
    assert client.get("/admin/dropoff").status_code == 302, "anonymous: sent to sign in"
    sign_in(make_user(role, "sl-ttpvhcc"))
    assert client.get("/admin/dropoff").status_code == 403


def test_without_counts_the_page_says_so(client, make_user, sign_in):
    sign_in(make_user("admin"))
    soup = check_page(client.get("/admin/dropoff?lang=en"), lang="en")
    assert "No online survey session has been counted yet." in soup.get_text()
