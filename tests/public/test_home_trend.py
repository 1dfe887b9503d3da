"""The home page shows each indicator's trend as a small chart with its words, from published periods only."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.pages import check_page
from tests.public.test_api_paging import NOW


def test_home_page_draws_the_trend_of_each_published_indicator(client, db, make_device, rate):
    from webapp.publishing.publish import publish_period

    device, _ = make_device("sl-ttpvhcc")
    rate(overall=5, count=40, start=datetime(2026, 5, 5, 2, tzinfo=UTC), device=device)
    rate(overall=1, count=10, start=datetime(2026, 5, 6, 2, tzinfo=UTC), device=device)
    rate(overall=5, count=60, start=datetime(2026, 8, 5, 2, tzinfo=UTC), device=device)
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
