"""The indicator and unit pages and the unit search, on a published demo."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from tests.conftest import empty_all_tables
from tests.pages import check_page

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
QUARTERS = ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]
PERCENT = re.compile(r"\d\s?%")


@pytest.fixture(scope="module")
def published(app):
    """A demo database with every quarter from 2025-Q1 to 2026-Q3 published."""
    from tests.registry_rows import load_registry
    from webapp.demo.seed import seed_demo
    from webapp.extensions import db
    from webapp.periods import Period
    from webapp.publishing.compute import period_inputs
    from webapp.publishing.publish import publish_period

    with app.app_context():
        load_registry(db)
        seed_demo(responses=30_000, seed=5, now=NOW, first_quarter=Period(2025, "Q", 1))
        inputs = period_inputs()
        for label in QUARTERS:
            publish_period(label, now=NOW, inputs=inputs)
        db.session.commit()
        db.session.remove()
    yield app
    with app.app_context():
        db.session.remove()
        empty_all_tables(db)


@pytest.fixture()
def web(published):
    from webapp.extensions import limiter

    limiter.reset()
    return published.test_client()


def assert_only_external_scripts(soup) -> None:
    """Content needs no JavaScript: the only scripts are small deferred files (no inline code)."""
    for script in soup.find_all("script"):  # may be empty: a page needs no script at all
        assert script.get("src") and script.has_attr("defer") and not script.get_text(strip=True), script


def _text(soup) -> str:
    return " ".join(soup.get_text(" ").split())


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_indicator_page_shows_latest_figure_trend_breakdowns_and_funnel(web, lang):
    soup = check_page(web.get(f"/indicators/sat-agencies?lang={lang}"), lang=lang)
    svgs = soup.find_all("svg")
    assert len(svgs) == 2, "a trend chart and a funnel plot"
    for svg in svgs:
        assert svg["role"] == "img"
        ids = svg["aria-labelledby"].split()
        assert svg.find("title")["id"] in ids and svg.find("desc")["id"] in ids
    trend = soup.find("svg", class_="chart-trend")
    assert trend.find(class_="band") is not None and trend.find(class_="target") is not None
    captions = {c["id"] for c in soup.find_all("caption")}
    assert {
        "caption-sector",
        "caption-commune",
        "caption-service",
        "caption-channel",
        "caption-respondent_type",
    } <= captions
    tables = soup.find_all("table")
    assert len(tables) >= 6
    for table in tables:
        assert table.find("caption") is not None
        headers = table.find_all("th")
        assert headers, table.find("caption")
        assert all(th.get("scope") in {"col", "row"} for th in headers)
    trend_rows = soup.find(id="trend-table-caption").find_parent("table").find("tbody").find_all("tr")
    assert [r.th.get_text(strip=True) for r in trend_rows] == QUARTERS
    assert soup.find(class_="note") is not None, "the note on kiosk ratings"
    assert "style=" not in str(soup.find("main")), "no inline styles"
    assert_only_external_scripts(soup)
    assert soup.find("link", href=re.compile(r"public\.css")) is not None
    assert len(soup.select("table[data-sortable]")) >= 5, "breakdown tables are sortable"


def test_indicator_page_of_an_early_quarter_breaks_down_by_district(published):
    """Periods to 2025-Q2 are reported by district (checked on the data the page reads)."""
    from public import readers
    from webapp.extensions import db

    with published.app_context():
        snapshots = {s.period: s for s in readers.latest_snapshots("Q")}
        assert readers.rows_of(snapshots["2025-Q2"], "sat-agencies", "district")
        assert not readers.rows_of(snapshots["2026-Q3"], "sat-agencies", "district")
        db.session.remove()


def test_suppressed_rows_never_show_a_percentage(web):
    soup = check_page(web.get("/indicators/sat-agencies?lang=en"))
    suppressed = soup.find_all("td", class_="suppressed")
    for page in (
        "/indicators/sat-procedures?lang=en",
        "/indicators/sat-health?lang=en",
        "/indicators/sat-education?lang=en",
    ):
        suppressed += check_page(web.get(page)).find_all("td", class_="suppressed")
    assert suppressed, "the demo has some groups with too few ratings"
    for cell in suppressed:
        row = cell.find_parent("tr")
        assert not PERCENT.search(row.get_text(" ")), row
        assert "too few to publish a rate" in cell.get_text()


def _unit_with_figures(published):
    from public import readers
    from webapp.extensions import db

    with published.app_context():
        latest = readers.latest_snapshots("Q")[-1]
        from webapp.models import PublishedEstimate

        row = db.session.scalar(
            select(PublishedEstimate)
            .where(
                PublishedEstimate.snapshot_id == latest.id,
                PublishedEstimate.domain_type == "unit",
                PublishedEstimate.metric.like("%/aspect:%"),
                PublishedEstimate.estimate.is_not(None),
            )
            .limit(1)
        )
        code = row.domain
        db.session.remove()
        return code


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_unit_page_shows_figures_aspects_trend_and_survey_link(web, published, lang):
    code = _unit_with_figures(published)
    soup = check_page(web.get(f"/units/{code}?lang={lang}"), lang=lang)
    assert soup.find("a", href=f"/survey/{code}") is not None
    assert soup.find("svg", class_="chart-trend") is not None
    assert soup.find(id="caption-main") is not None
    aspect_captions = [c for c in soup.find_all("caption") if c["id"].startswith("caption-aspects-")]
    assert aspect_captions
    text = _text(soup)
    assert "aspect:" not in text, "aspect codes are shown as names"
    assert "style=" not in str(soup.find("main"))
    assert_only_external_scripts(soup)
    assert soup.select("table[data-sortable]")
    if lang == "en":
        assert "response rate" in text


def test_unit_page_of_a_merged_commune_links_its_successor(web):
    soup = check_page(web.get("/units/c03646?lang=en"))
    assert soup.find("a", href="/units/n03646") is not None
    soup = check_page(web.get("/units/n03646?lang=en"))
    assert soup.find("a", href="/units/c03646") is not None
    assert soup.find("a", href="/units/c03649") is not None


def test_unit_page_shows_only_published_comments(web, published):
    """Every comment on the page was published by a moderator; pending and hidden ones never show."""
    from webapp.extensions import db
    from webapp.models import CommentReview, Response, Unit

    code = _unit_with_figures(published)
    soup = check_page(web.get(f"/units/{code}?lang=en"))
    shown = {li.select_one(".comment__text").get_text(" ", strip=True) for li in soup.select("li.comment")}
    with published.app_context():
        rows = db.session.execute(
            select(Response.comment, CommentReview.status, CommentReview.edited_text)
            .join(Unit, Unit.id == Response.unit_id)
            .outerjoin(CommentReview, CommentReview.response_id == Response.id)
            .where(Unit.code == code, Response.comment.is_not(None))
        ).all()
    not_public = {" ".join(comment.split()) for comment, status, edited in rows if status != "published"}
    public = {" ".join((edited or comment).split()) for comment, status, edited in rows if status == "published"}
    assert shown <= public
    assert not (shown & (not_public - public))
    if not shown:
        assert "No comments have been published for this unit yet." in _text(soup)


@pytest.mark.parametrize("path", ["/indicators/no-such-indicator", "/units/no-such-unit"])
def test_unknown_codes_are_404(web, path):
    assert web.get(path).status_code == 404


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_unit_search_form_and_accent_insensitive_results(web, lang):
    soup = check_page(web.get(f"/units?lang={lang}"), lang=lang)
    form = soup.find("form")
    assert form["method"] == "get" and form.find("button") is not None
    soup = check_page(web.get(f"/units?q=chieng&lang={lang}"), lang=lang)
    names = [a.get_text() for a in soup.select("main ul a")]
    assert names and all("Chiềng" in name for name in names)
    soup = check_page(web.get(f"/units?q=son+la&lang={lang}"), lang=lang)
    names = [a.get_text() for a in soup.select("main ul a")]
    assert any("Sơn La" in name for name in names)


def test_search_lists_units_valid_today_first(web):
    soup = check_page(web.get("/units?q=phuong+to+hieu&lang=vi"))
    links = [a["href"] for a in soup.select("main ul a")]
    assert links.index("/units/n03646") < links.index("/units/c03649")


def test_search_with_no_match_says_so(web):
    soup = check_page(web.get("/units?q=zzzz&lang=en"))
    assert "No unit has that name" in _text(soup)


def test_fold_ignores_accents_case_and_d_bar():
    from webapp.textfold import fold

    assert fold("  Xã Chiềng  ĐEN ") == "xa chieng den"
    assert fold("Sơn La") == "son la"


def test_indicator_page_shows_the_change_from_the_previous_quarter(web):
    text = _text(check_page(web.get("/indicators/sat-agencies?lang=en")))
    assert "Change since 2026-Q2" in text
    assert any(verdict in text for verdict in ("A clear rise.", "A clear fall.", "No clear change."))


def test_unit_page_suppressed_rows_never_show_a_percentage(web):
    rows = [
        cell.find_parent("tr").get_text(" ")
        for code in ("c03646", "n03646", "d116")
        for cell in check_page(web.get(f"/units/{code}?lang=en")).find_all("td", class_="suppressed")
    ]
    assert rows, "no suppressed row to check"
    for row in rows:
        assert not PERCENT.search(row), row


@pytest.mark.parametrize("path", ["/indicators/sat-agencies", "/units/n03646"])
def test_pages_are_light(web, path):
    """HTML with its inline SVG, plus both stylesheets, stays small; no external chart script."""
    html = web.get(path + "?lang=vi").data
    css = web.get("/static/css/site.css").data + web.get("/static/css/public.css").data
    assert len(html) < 120_000, len(html)
    assert len(css) < 30_000, len(css)
    assert_only_external_scripts(BeautifulSoup(html, "html.parser"))
    assert len(web.get("/static/js/sortable.js").data) < 6_000
