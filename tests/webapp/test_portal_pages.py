"""The national portal's figure on the public unit page: its own figure, beside ours, never pooled."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.pages import check_page
from tests.webapp.agency_fixtures import OURS, rate

SAMPLE = Path(__file__).resolve().parents[2] / "webapp" / "demo" / "portal_sample.csv"


def _sample_counts(unit: str) -> tuple[int, int]:
    with SAMPLE.open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["unit"] == unit]
    return len(rows), sum(r["rating"] in ("2", "3") for r in rows)


def _text(response) -> str:
    return " ".join(check_page(response).get_text(" ").split())


def test_unit_page_shows_the_portal_share_with_n_period_interval_and_note(runner, client, registry):
    import analysis

    assert runner.invoke(args=["import", "portal-ratings", str(SAMPLE)]).exit_code == 0
    n, satisfied = _sample_counts("03688")
    assert n >= 30
    low, high, _ = analysis.wilson_score(satisfied, n)
    soup = check_page(client.get(f"/units/{OURS}?lang=en"))
    section = soup.find(id="portal-heading").find_parent("section")
    text = " ".join(section.get_text(" ").split())
    assert "Cổng Dịch vụ công quốc gia" in text and "2026-Q3" in text
    assert f"of {n} dossiers" in text
    assert f"{100 * satisfied / n:.1f}%" in text
    assert f"{100 * low:.1f}%" in text and f"{100 * high:.1f}%" in text
    assert "not part of our index" in text


def test_fewer_than_min_n_ratings_show_only_the_count(runner, client, registry):
    assert runner.invoke(args=["import", "portal-ratings", str(SAMPLE)]).exit_code == 0
    n, _ = _sample_counts("sl-ttpvhcc")
    assert 0 < n < 30
    soup = check_page(client.get("/units/sl-ttpvhcc?lang=en"))
    text = " ".join(soup.find(id="portal-heading").find_parent("section").get_text(" ").split())
    assert f"{n} dossiers were rated" in text and "too few to give a share" in text
    assert "%" not in text.replace("at least", "")


def test_no_portal_section_without_ratings(client, registry):
    soup = check_page(client.get(f"/units/{OURS}"))
    assert soup.find(id="portal-heading") is None


def test_portal_ratings_do_not_move_our_published_figures(runner, db, registry, client):
    from sqlalchemy import select

    from webapp.models import PublishedEstimate
    from webapp.publishing.publish import publish_period

    september = datetime(2026, 9, 10, 2, 0, tzinfo=UTC)
    for i in range(40):
        rate(OURS, overall=3 if i % 3 else 1, answered_at=september + timedelta(minutes=9 * i))
    publish_period("2026-Q3", now=datetime(2026, 11, 28, 3, 0, tzinfo=UTC))
    before = {
        (e.metric, e.domain_type, e.domain): (e.n, e.estimate) for e in db.session.scalars(select(PublishedEstimate))
    }
    assert runner.invoke(args=["import", "portal-ratings", str(SAMPLE)]).exit_code == 0
    publish_period("2026-Q3", now=datetime(2026, 11, 29, 3, 0, tzinfo=UTC), reason="check")
    latest = max(db.session.scalars(select(PublishedEstimate.snapshot_id)))
    after = {
        (e.metric, e.domain_type, e.domain): (e.n, e.estimate)
        for e in db.session.scalars(select(PublishedEstimate).where(PublishedEstimate.snapshot_id == latest))
    }
    assert after == before
