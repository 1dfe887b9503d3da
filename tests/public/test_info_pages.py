"""The plan, methodology and open data pages on a published demo, in both languages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import empty_all_tables
from tests.pages import check_page

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
QUARTERS = ["2026-Q2", "2026-Q3"]
REASON = "Late paper forms from Mộc Châu were keyed in."
LANGUAGES = ["vi", "en"]


@pytest.fixture(scope="module")
def published(app):
    """A demo database with two quarters and the year 2025 published, and 2026-Q3 revised once."""
    from tests.registry_rows import load_registry
    from webapp.demo.seed import seed_demo
    from webapp.extensions import db
    from webapp.periods import Period
    from webapp.publishing.compute import period_inputs
    from webapp.publishing.publish import publish_period

    with app.app_context():
        load_registry(db)
        seed_demo(responses=15_000, seed=5, now=NOW, first_quarter=Period(2025, "Q", 1))
        inputs = period_inputs()
        for label in ["2025", *QUARTERS]:
            publish_period(label, now=NOW, inputs=inputs)
        publish_period("2026-Q3", reason=REASON, actor="admin@sonla.gov.vn", now=NOW)
        db.session.remove()
        yield db
        db.session.remove()
        empty_all_tables(db)


def test_pages_answer_with_nothing_published(tmp_path):
    """Before any publication (an application of its own, on an empty database): honest empty states."""
    from tests.conftest import make_app, migrate_database
    from webapp.extensions import db

    empty = make_app(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    migrate_database(empty)
    client = empty.test_client()
    try:
        for path in ("/plan", "/methodology", "/data"):
            soup = check_page(client.get(path + "?lang=en"), lang="en")
        assert "No period has been published yet." in soup.get_text()
        plan = " ".join(check_page(client.get("/plan?lang=en")).get_text().split())
        assert "No value entered yet by the Department of Home Affairs." in plan
        assert client.get("/data/latest/estimates.csv").status_code == 404
        package = client.get("/data/datapackage.json")
        assert package.status_code == 200 and package.json["resources"] == []
    finally:
        with empty.app_context():
            db.engine.dispose()


@pytest.fixture()
def web(app, published):
    from webapp.extensions import limiter

    limiter.reset()
    return app.test_client()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_plan_page_lists_every_target_with_its_deadline(web, lang):
    from public.downloads import plan_targets

    soup = check_page(web.get(f"/plan?lang={lang}"), lang=lang)
    text = " ".join(soup.get_text().split())
    plans = plan_targets()["plans"]
    assert [len(plan["targets"]) for plan in plans] == [19, 4]
    for plan in plans:
        assert plan["targets"]
        for target in plan["targets"]:
            assert " ".join(target["text"][lang].split()) in text
    for section in ("1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7"):
        assert soup.find(id="section-II-" + section.replace(".", "-")), section
    links = {a["href"] for a in soup.find_all("a")}
    for code in (
        "sat-procedures",
        "sat-agencies",
        "sat-health",
        "sat-education",
        "coverage-psu",
        "sat-land-construction-investment",
    ):
        assert f"/indicators/{code}" in links
    # Survey-based targets show the latest figure with its status in words; the others say no value was entered.
    assert soup.select(".status"), "a status in words"
    assert "2026-Q3" in text and "2025" in text
    cards_without_value = [
        card for card in soup.select(".card") if not card.find("a", href=lambda h: h and h.startswith("/indicators/"))
    ]
    assert len(cards_without_value) == 12 + 3, "12 targets reported by the department, 3 qualitative objectives"
    if lang == "en":
        assert text.count("No value entered yet by the Department of Home Affairs.") == 12
        assert "95% interval" in text
        assert "Milestones:" in text


@pytest.mark.parametrize("lang", LANGUAGES)
def test_methodology_page_explains_the_method_and_logs_revisions(web, lang):
    soup = check_page(web.get(f"/methodology?lang={lang}"), lang=lang)
    text = " ".join(soup.get_text().split())
    assert soup.find("var") and soup.find("sub") and soup.find("sup"), "formulas are written in HTML"
    assert not soup.find("script"), "no JavaScript"
    assert not soup.find(style=True)
    assert "wilson-cc-kish" in text
    for figure in ("98.0", "90.6", "96.4") if lang == "en" else ("98,0", "90,6", "96,4"):
        assert figure in text, figure
    log = soup.find(id="revisions-log").find_parent("section")
    rows = log.select("ol.revisions li")
    assert len(rows) == 2
    assert "2" in rows[1].find("strong").get_text()
    assert REASON in log.get_text()
    assert "admin@sonla.gov.vn" not in log.get_text(), "staff e-mail addresses are not published"
    assert "2026-Q3" in log.get_text() and "2026-Q2" not in log.get_text(), "only revised periods are logged"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_data_page_lists_periods_with_links(web, lang):
    soup = check_page(web.get(f"/data?lang={lang}"), lang=lang)
    links = {a["href"] for a in soup.find_all("a")}
    for period in ["2025", *QUARTERS]:
        assert f"/data/{period}/estimates.csv" in links and f"/data/{period}/estimates.json" in links
    assert "/data/latest/estimates.csv" in links and "/data/datapackage.json" in links
    assert "https://creativecommons.org/licenses/by/4.0/" in links
    text = soup.get_text()
    assert "CC BY 4.0" in text and "ci_low" in text
