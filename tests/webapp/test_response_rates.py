"""Exact response rates: survey links issued, delivered and answered per unit and service."""

from __future__ import annotations

import io
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from tests.pages import check_page
from tests.webapp.agency_fixtures import OURS, THEIRS, rate
from webapp.periods import VIETNAM, current_quarter

CENTRE = "ttpv-n03688"  # the service centre under OURS: in OURS's scope


def at(day, hour: int = 9, minute: int = 0) -> datetime:
    """A Việt Nam wall-clock time on ``day`` as an aware datetime."""
    return datetime.combine(day, time(hour, minute), tzinfo=VIETNAM)


def plant(db, unit_by_code, quarter):
    """Tokens with known counts in ``quarter`` (a past quarter): see the assertions below."""
    from surveys.tokens import issue_token
    from webapp.models import ReceiptToken, Service

    land = db.session.scalar(select(Service).where(Service.code == "land"))
    ours, theirs, centre = unit_by_code(OURS), unit_by_code(THEIRS), unit_by_code(CENTRE)
    start = quarter.start
    serial = iter(range(10_000))

    def token(unit, when, answered=None):
        _raw, row = issue_token(unit, land, f"HS-{next(serial)}", now=when, audit=False)
        if answered is not None:
            row.response_id = rate(unit.code, overall=3, answered_at=answered)
            row.used_at = answered
        db.session.commit()
        return row

    # OURS / land: 10 issued inside the quarter; 4 answered in it, 1 answered next quarter (now).
    for i in range(10):
        issued = at(start + timedelta(days=5 + i))
        answered = (
            issued + timedelta(hours=2) if i < 4 else (datetime.now(UTC) - timedelta(minutes=2) if i == 4 else None)
        )
        token(ours, issued, answered)
    # Issued the quarter before, answered in the quarter: counts as answered, not as issued.
    token(ours, at(quarter.previous().start + timedelta(days=3)), at(start + timedelta(days=2)))
    # The last minutes of the quarter (Việt Nam time) belong to it; the first of the next do not.
    token(ours, at(quarter.end, 23, 30))
    token(ours, at(quarter.next().start, 0, 10))
    # Another commune: never in OURS's scope.
    for i in range(3):
        token(theirs, at(start + timedelta(days=10 + i)), at(start + timedelta(days=10 + i), 11) if i == 0 else None)
    # The service centre under OURS: in its scope.
    token(centre, at(start + timedelta(days=20)))
    token(centre, at(start + timedelta(days=21)))
    return ours, theirs, centre, land, ReceiptToken


@pytest.fixture()
def quarter():
    return current_quarter().previous()


def by_unit(rows):
    return {(r.unit.code, r.service.code): r for r in rows}


def test_counts_of_planted_tokens(db, unit_by_code, quarter):
    from webapp.portal.response_rates import period_response_rates, subtree_ids

    ours, *_ = plant(db, unit_by_code, quarter)
    rows = by_unit(period_response_rates(subtree_ids(ours), quarter))
    assert set(rows) == {(OURS, "land"), (CENTRE, "land")}
    mine = rows[(OURS, "land")]
    assert mine.issued == 11  # 10 + the one at 23:30 on the last day
    assert mine.answered == 5  # 4 of this quarter's links + 1 issued the quarter before
    assert mine.answered_of_issued == 5  # 4 + the one answered in the next quarter
    assert mine.n == 11 and mine.rate == pytest.approx(5 / 11)
    assert mine.delivered is None  # nothing delivered anywhere
    centre = rows[(CENTRE, "land")]
    assert (centre.issued, centre.answered, centre.rate) == (2, 0, 0.0)
    everything = by_unit(period_response_rates(None, quarter))
    assert everything[(THEIRS, "land")].issued == 3 and everything[(THEIRS, "land")].answered == 1


def test_delivered_comes_from_the_delivery_counts_and_is_scoped(db, unit_by_code, quarter, monkeypatch):
    from webapp import delivery
    from webapp.portal.response_rates import period_response_rates, subtree_ids

    ours, theirs, _centre, land, _ = plant(db, unit_by_code, quarter)
    calls = []

    def fake(unit_ids=None, start=None, end=None):
        calls.append((unit_ids, start, end))
        return {(ours.id, land.id): {"sent": 7, "failed": 2}, (theirs.id, land.id): {"sent": 3}}

    monkeypatch.setattr(delivery, "status_counts", fake)
    rows = by_unit(period_response_rates(subtree_ids(ours), quarter))
    assert rows[(OURS, "land")].delivered == 7
    assert rows[(CENTRE, "land")].delivered == 0
    assert (THEIRS, "land") not in rows
    assert calls[0][1:] == (quarter.start, quarter.end) and ours.id in calls[0][0] and theirs.id not in calls[0][0]


def test_dashboard_table_respects_the_manager_scope(db, unit_by_code, quarter, make_user, sign_in):
    plant(db, unit_by_code, quarter)
    http = sign_in(make_user("agency_manager", OURS))
    soup = check_page(http.get(f"/agency/units/{OURS}"))
    table = soup.find(id=f"caption-links-{quarter.label}").find_parent("table")
    rows = [[" ".join(c.get_text(" ").split()) for c in tr.find_all(["th", "td"])] for tr in table.select("tbody tr")]
    assert len(rows) == 2
    commune = next(r for r in rows if "Mường Chiên" in r[0] and "Trung tâm" not in r[0])
    assert commune[2] == "11" and commune[5] == "5" and commune[6].endswith("(11)")
    text = soup.get_text(" ")
    assert "Mường Giôn" not in text
    assert http.get(f"/agency/units/{THEIRS}").status_code == 404


def test_reports_have_the_survey_links_section(db, unit_by_code, quarter):
    import docx
    import openpyxl

    from webapp.publishing.publish import publish_period
    from webapp.reports import build_report

    plant(db, unit_by_code, quarter)
    for i in range(35):
        rate(OURS, overall=3, answered_at=at(quarter.start + timedelta(days=30), 8) + timedelta(minutes=9 * i))
    publish_period(quarter.label, now=datetime.now(UTC))

    document = docx.Document(io.BytesIO(build_report(OURS, quarter.label, "docx", locale="en").content))
    tables = [t for t in document.tables if t.rows and t.rows[0].cells[0].text == "Unit" and len(t.columns) == 6]
    assert len(tables) == 1
    body = [[c.text for c in row.cells] for row in tables[0].rows[1:]]
    assert body
    commune = next(r for r in body if r[0] == "Mường Chiên commune")
    assert (commune[2], commune[3], commune[4]) == ("11", "–", "5")
    assert commune[5].endswith("(11)")
    assert not any("Mường Giôn" in r[0] for r in body)

    book = openpyxl.load_workbook(io.BytesIO(build_report(None, quarter.label, "xlsx", locale="en").content))
    sheet = book["Survey links"]
    values = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    codes = {(v[0], v[2]): v for v in values}
    assert codes[(OURS, "land")][4] == 11 and codes[(OURS, "land")][7] == 5
    assert codes[(OURS, "land")][9] == pytest.approx(5 / 11)
    assert (THEIRS, "land") in codes  # the province's report covers every unit
