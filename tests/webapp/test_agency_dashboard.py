"""The agency home, the unit picker and a unit's dashboard (published and provisional figures)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.pages import check_page
from tests.webapp.agency_fixtures import OURS, THEIRS, rate

SEPTEMBER = datetime(2026, 9, 10, 2, 0, tzinfo=UTC)
JUNE = datetime(2026, 6, 10, 2, 0, tzinfo=UTC)


def _publish(*labels):
    from webapp.publishing.publish import publish_period

    for label in labels:
        publish_period(label, now=datetime(2026, 11, 28, 3, 0, tzinfo=UTC))


def test_manager_lands_on_own_unit_and_cannot_pick_others(db, make_user, sign_in):
    http = sign_in(make_user("agency_manager", OURS))
    soup = check_page(http.get("/agency/"))
    links = [a["href"] for a in soup.select("main a")]
    assert f"/agency/units/{OURS}" in links
    assert not any(THEIRS in href for href in links)
    # A search cannot reach units outside the scope.
    soup = check_page(http.get("/agency/?q=Mường Giôn"))
    assert not any(THEIRS in a["href"] for a in soup.select("main a"))  # may be empty: nothing found is right too
    assert http.get(f"/agency/units/{THEIRS}").status_code == 404
    assert http.get("/agency/units/no-such-unit").status_code == 404


def test_admin_picker_searches_every_unit_ignoring_accents(db, make_user, sign_in):
    http = sign_in(make_user("admin"))
    soup = check_page(http.get("/agency/?q=muong gion"))
    assert f"/agency/units/{THEIRS}" in [a["href"] for a in soup.select("main a")]
    assert check_page(http.get("/agency/")).select("main ul.unit-results li")


def test_dashboard_shows_published_previous_live_breakdowns_and_flags(db, make_user, sign_in, make_device):
    device, _key = make_device(OURS, "Quầy 1")
    for i in range(40):
        rate(
            OURS,
            overall=3 if i % 4 else 1,
            channel="kiosk",
            device=device,
            answered_at=SEPTEMBER + timedelta(minutes=9 * i),
        )
    for i in range(35):
        rate(OURS, overall=2, answered_at=JUNE + timedelta(minutes=9 * i))
    for i in range(12):
        rate(OURS, overall=1, answered_at=datetime.now(UTC) - timedelta(hours=i + 1))
    _publish("2026-Q2", "2026-Q3")
    http = sign_in(make_user("viewer", OURS))
    soup = check_page(http.get(f"/agency/units/{OURS}"))
    text = " ".join(soup.get_text(" ").split())
    assert "2026-Q3" in text and "2026-Q2" in text
    assert soup.find(id="caption-latest") and soup.find(id="caption-previous")
    # Provisional figures of the current quarter, clearly marked as not published.
    live = soup.find(id="live-heading").find_parent("section")
    assert "2026-Q4" in live.get_text()
    assert live.find(class_="notice")
    assert "12" in live.get_text()
    # Breakdowns by counter and channel of the latest published quarter (computed from responses).
    assert soup.find(id="caption-counter-sat-agencies") and "Quầy 1" in text
    assert soup.find(id="caption-channel-sat-agencies")
    assert soup.find(id="caption-flags")
    assert soup.select("svg.chart") or soup.find(id="caption-trend-sat-agencies") is None


def test_rates_from_counts_suppresses_small_groups():
    from webapp.agency.overview import rates_from_counts

    rates, hidden = rates_from_counts({"a": (100, 90), "b": (20, 20), "c": (5, 5)}, target=0.8, min_n=30, min_n_show=10)
    assert hidden == 1
    by_key = {r.key: r for r in rates}
    assert by_key["a"].estimate == 0.9 and by_key["a"].ci_low < 0.9 < by_key["a"].ci_high
    assert by_key["a"].status in {"met", "inconclusive"}
    assert by_key["b"].estimate is None and by_key["b"].status == "insufficient" and by_key["b"].n == 20


def test_flag_counts_by_reason(db, registry, unit_by_code):
    from webapp.agency.overview import flag_counts
    from webapp.extensions import db as database
    from webapp.models import Response
    from webapp.periods import current_quarter

    ids = [rate(OURS) for _ in range(3)]
    response = database.session.get(Response, ids[0])
    response.status, response.quality_flags = "flagged", ["burst", "too_fast"]
    database.session.commit()
    counts = flag_counts(unit_by_code(OURS), current_quarter())
    assert counts.responses == 3 and counts.flagged == 1
    assert counts.by_flag == {"burst": 1, "too_fast": 1}
