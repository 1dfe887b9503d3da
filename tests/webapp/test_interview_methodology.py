"""The methodology page's "Mode and language" section on the published demo (issue #17): assisted
interviews beside self-completion, each with its interval, n and status, and the census caveat."""

from __future__ import annotations

import pytest

from tests.pages import check_page
from tests.webapp.published_demo import PERIOD, PREVIOUS, published_app


@pytest.fixture(scope="module")
def web(app):
    with published_app(app, responses=15_000, seed=17, first_quarter=PREVIOUS, periods=[PREVIOUS, PERIOD]):
        yield app.test_client()


def table(soup, caption_id):
    caption = soup.find("caption", id=caption_id)
    assert caption is not None, caption_id
    rows = {}
    for tr in caption.find_parent("table").select("tbody tr"):
        rows[" ".join(tr.th.get_text().split())] = [" ".join(td.get_text().split()) for td in tr.find_all("td")]
    return rows


def test_methodology_shows_assisted_beside_self_completed(web):
    soup = check_page(web.get("/methodology?lang=en"), lang="en")
    section = soup.find(id="modes").find_parent("section")
    text = " ".join(section.get_text().split())
    assert f"period {PERIOD}" in text
    modes = table(section, "modes-sat-agencies-mode")
    assert {"Self-completed", "Assisted interview"} <= set(modes)
    for name in ("Self-completed", "Assisted interview"):
        rate, interval, n, status = modes[name]
        assert rate.endswith("%") and " – " in interval and int(n.replace(",", "")) >= 30 and status
    languages = table(section, "modes-sat-agencies-language")
    assert "Vietnamese" in languages
    assert "social desirability" in text and "not corrected" in text
    assert "no ethnic mix by commune" in text and "Thái" in text


def test_methodology_section_in_vietnamese(web):
    soup = check_page(web.get("/methodology?lang=vi"), lang="vi")
    assert soup.find(id="modes") is not None
    assert soup.find("caption", id="modes-sat-agencies-mode") is not None


def test_too_few_is_said_not_hidden(web, db):
    """A mode with too few ratings for a rate shows its count and says so."""
    from sqlalchemy import select

    from webapp.models import PublishedEstimate, PublishedSnapshot

    rows = db.session.scalars(
        select(PublishedEstimate)
        .join(PublishedSnapshot)
        .where(
            PublishedSnapshot.period == PERIOD,
            PublishedEstimate.domain_type.in_(("mode", "language")),
            PublishedEstimate.status == "insufficient",
        )
    ).all()
    soup = check_page(web.get("/methodology?lang=en"), lang="en")
    text = " ".join(soup.find(id="modes").find_parent("section").get_text().split())
    shown = [r for r in rows if r.metric in ("sat-agencies", "sat-health", "sat-education")]
    assert shown, "the demo has groups too small for a rate"
    for row in shown:
        assert f"{row.n} ratings: too few to publish a rate" in text
