"""The home page shows each indicator's trend as a small chart with its words, from published periods only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.pages import check_page
from tests.public.test_api_paging import NOW


def rate_in(start: datetime, overall: int, count: int, device) -> None:
    from surveys.submission import Submission, submit_response

    for i in range(count):
        submit_response(
            Submission(
                client_id=uuid.uuid4(),
                instrument_code="counter-quick",
                unit_code="sl-ttpvhcc",
                service_code="land",
                channel="kiosk",
                answers={"overall": overall},
                answered_at=start + timedelta(minutes=7 * i),
                device=device,
            ),
            now=start + timedelta(days=1),
        )


def test_home_page_draws_the_trend_of_each_published_indicator(client, db, make_device):
    from webapp.publishing.publish import publish_period

    device, _ = make_device("sl-ttpvhcc")
    rate_in(datetime(2026, 5, 5, 2, tzinfo=UTC), 5, 40, device)
    rate_in(datetime(2026, 5, 6, 2, tzinfo=UTC), 1, 10, device)
    rate_in(datetime(2026, 8, 5, 2, tzinfo=UTC), 5, 60, device)
    publish_period("2026-Q2", now=NOW)
    publish_period("2026-Q3", now=NOW)
    db.session.commit()
    soup = check_page(client.get("/?lang=en"), lang="en")
    sparks = soup.select("svg.sparkline")
    assert len(sparks) == 1, "only sat-agencies has two published periods"
    svg = sparks[0]
    assert svg["role"] == "img" and svg.find("title") and svg.find("desc")
    desc = " ".join(svg.find("desc").get_text().split())
    assert desc == "From 80% in 2026-Q2 to 100% in 2026-Q3."
    assert svg.find(class_="line") is not None and svg.find(class_="target") is not None
    card = svg.find_parent("li")
    assert desc in " ".join(card.get_text().split()), "the same words are visible next to the chart"
    assert card.find("a", href="/indicators/sat-agencies#trend-heading") is not None


def test_home_page_without_publications_has_no_trend(client, registry):
    soup = check_page(client.get("/?lang=en"), lang="en")
    assert not soup.select("svg.sparkline")
