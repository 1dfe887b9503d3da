"""The per-process cache of public pages (public/cache.py): hits, invalidation, languages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from tests.pages import check_page

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


@pytest.fixture()
def site(app, db, registry):
    """2026's demo data with only 2026-Q1 published, and the page cache switched on."""
    from public.cache import page_cache
    from webapp.demo.seed import seed_demo
    from webapp.periods import Period
    from webapp.publishing.publish import publish_period

    seed_demo(responses=3_000, seed=7, now=NOW, first_quarter=Period(2026, "Q", 1))
    publish_period("2026-Q1", now=NOW)
    db.session.commit()
    cache = page_cache(app)
    cache.clear()
    app.config["PUBLIC_PAGE_CACHE"] = True
    yield app
    app.config.pop("PUBLIC_PAGE_CACHE")
    cache.clear()


@pytest.fixture()
def web(site):
    from webapp.extensions import limiter

    limiter.reset()
    return site.test_client()


def _publish(db, label: str, reason: str | None = None) -> None:
    from webapp.publishing.publish import publish_period

    publish_period(label, reason=reason, now=NOW)
    db.session.commit()


def _unit_code(db) -> str:
    """The unit with the most rated figures in 2026-Q1 whose page shows no 2026-Q2 comment yet."""
    from webapp.models import PublishedEstimate, Response, Unit

    commented = (
        select(Unit.code)
        .join(Response, Response.unit_id == Unit.id)
        .where(Response.period == "2026-Q2", Response.comment.is_not(None))
    )
    return db.session.scalar(
        select(PublishedEstimate.domain)
        .where(PublishedEstimate.domain_type == "unit", PublishedEstimate.domain.not_in(commented))
        .order_by(PublishedEstimate.n.desc(), PublishedEstimate.domain)
    )


def _get(web, path: str) -> str:
    response = web.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def _paths(db) -> list[str]:
    return ["/", "/indicators/sat-procedures", f"/units/{_unit_code(db)}"]


def test_second_view_is_a_hit_with_the_same_page(web, site, db):
    from public.cache import page_cache

    cache = page_cache(site)
    for path in _paths(db):
        first = _get(web, path)
        hits = cache.hits
        second = _get(web, path)
        assert cache.hits == hits + 1, path
        assert second == first, path
        check_page(web.get(path))
    assert len(cache) == 3


def _published_part(html: str) -> str:
    """The page without its comment-themes table, whose quarters follow moderated comments, not publishing."""
    soup = BeautifulSoup(html, "html.parser")
    for section in soup.select('section[aria-labelledby="themes-heading"]'):
        section.decompose()
    return str(soup)


def test_publishing_a_new_quarter_shows_it_at_once(web, db):
    paths = _paths(db)
    before = {path: _published_part(_get(web, path)) for path in paths}
    for path in paths:
        assert "2026-Q1" in before[path] and "2026-Q2" not in before[path], path
    _publish(db, "2026-Q2")
    for path in paths:
        after = _get(web, path)
        assert "2026-Q2" in _published_part(after), path


def test_a_new_revision_misses_the_cache(web, site, db):
    from public.cache import page_cache

    cache = page_cache(site)
    _get(web, "/indicators/sat-procedures")
    _get(web, "/indicators/sat-procedures")
    misses, hits = cache.misses, cache.hits
    _publish(db, "2026-Q1", reason="Corrected transaction counts")
    _get(web, "/indicators/sat-procedures")
    assert (cache.misses, cache.hits) == (misses + 1, hits)


def test_one_language_is_never_served_in_the_other(site, db):
    from webapp.extensions import limiter

    limiter.reset()
    english, vietnamese = site.test_client(), site.test_client()
    for path in _paths(db):
        en = BeautifulSoup(_get(english, path + "?lang=en"), "html.parser")
        vi = BeautifulSoup(_get(vietnamese, path), "html.parser")
        # Cached by now: each language again, the other one first.
        vi_again = BeautifulSoup(_get(vietnamese, path), "html.parser")
        en_again = BeautifulSoup(_get(english, path), "html.parser")  # the session remembers English
        assert en.html["lang"] == en_again.html["lang"] == "en"
        assert vi.html["lang"] == vi_again.html["lang"] == "vi"
        assert en.find("main") == en_again.find("main"), path
        assert vi.find("main") == vi_again.find("main"), path
        assert en.find("main") != vi.find("main"), path
        if path == "/":
            assert "Satisfaction against the targets" in en_again.find("main").get_text()
            assert "Satisfaction against the targets" not in vi_again.find("main").get_text()


def test_other_query_arguments_and_errors_are_not_cached(web, site):
    from public.cache import page_cache

    cache = page_cache(site)
    _get(web, "/indicators/sat-procedures?utm_source=x")
    assert web.get("/indicators/no-such-indicator").status_code == 404
    assert len(cache) == 0


def test_cache_is_off_while_testing_unless_asked(app, db):
    from public.cache import _enabled

    with app.test_request_context("/"):
        assert not _enabled()
        app.config["PUBLIC_PAGE_CACHE"] = True
        try:
            assert _enabled()
        finally:
            app.config.pop("PUBLIC_PAGE_CACHE")


def test_hiding_a_comment_takes_it_off_the_cached_unit_page(web, db, monkeypatch):
    from public import cache as page_cache_module
    from webapp.models import Response, Unit
    from webapp.models.feedback import CommentReview

    monkeypatch.setattr(page_cache_module, "COMMENTS_CHECK_SECONDS", 0.0)
    response = db.session.scalar(
        select(Response).where(Response.comment.is_not(None), Response.comment != "").order_by(Response.id)
    )
    code = db.session.get(Unit, response.unit_id).code
    # A text of its own: the demo's canned comments repeat, and another may be published on the page.
    response.comment = "Ý kiến riêng của phép thử bộ nhớ đệm."
    review = CommentReview(response_id=response.id, status="published", reviewed_at=NOW)
    db.session.add(review)
    db.session.commit()
    words = response.comment
    assert words in _get(web, f"/units/{code}")
    assert words in _get(web, f"/units/{code}")  # from the cache
    review.status, review.hidden_reason = "hidden", "names a person"
    review.reviewed_at = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
    db.session.commit()
    assert words not in _get(web, f"/units/{code}")


def test_a_hit_gets_its_own_headers_and_log_line(web, site, caplog):
    """The whole page is cached, never its response: a fresh nonce, request id and log line."""
    import logging

    from public.cache import page_cache

    cache = page_cache(site)
    first = web.get("/")
    hits = cache.hits
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="sonla.requests"):
        second = web.get("/")
    assert cache.hits == hits + 1
    assert second.get_data() == first.get_data()
    assert second.mimetype == "text/html" and second.mimetype_params["charset"] == "utf-8"
    policy = second.headers["Content-Security-Policy"]
    assert "'nonce-" in policy and policy != first.headers["Content-Security-Policy"]
    assert "nonce" not in second.get_data(as_text=True)
    assert second.headers["X-Frame-Options"] == "DENY"
    assert second.headers["X-Request-ID"] != first.headers["X-Request-ID"]
    assert [r.request["path"] for r in caplog.records if hasattr(r, "request")] == ["/"]
    assert "Set-Cookie" not in second.headers


def test_the_language_switch_of_a_cached_page_follows_its_address(web):
    plain = _get(web, "/indicators/sat-procedures")
    asked = _get(web, "/indicators/sat-procedures?lang=vi")
    assert BeautifulSoup(plain, "html.parser").find("a", hreflang="en")["href"].endswith("?lang=en")
    assert BeautifulSoup(asked, "html.parser").find("a", hreflang="en")["href"].endswith("?lang=en")
    again = _get(web, "/")
    assert BeautifulSoup(again, "html.parser").find("a", hreflang="en")["href"] == "/?lang=en"


def test_a_broken_version_connection_falls_back_to_the_session(web, db, monkeypatch):
    from public import cache as page_cache_module

    _get(web, "/")

    class Broken:
        def cursor(self):
            raise OSError("server closed the connection")

        def close(self):
            raise OSError("already closed")

    monkeypatch.setattr(page_cache_module._probe, "connection", Broken())
    _publish(db, "2026-Q2")
    assert "2026-Q2" in _get(web, "/")
    assert not isinstance(page_cache_module._probe.connection, Broken)


def test_cached_pages_skip_the_rate_limiter_and_nothing_else_does(site):
    from public.cache import _is_cached_page

    for path, cached in (("/", True), ("/units/x", True), ("/units", False), ("/healthz", False)):
        with site.test_request_context(path):
            assert _is_cached_page() is cached, path


def test_prerendered_home_pages_are_hits(site):
    """What ``wsgi.py`` renders before gunicorn forks serves the visitors at PUBLIC_BASE_URL."""
    from public.cache import page_cache, prerender

    cache = page_cache(site)
    assert prerender(site) == 2
    assert len(cache) == 2
    web = site.test_client()
    base = site.config["PUBLIC_BASE_URL"]
    hits = cache.hits
    vi = web.get("/", base_url=base)
    en = web.get("/", base_url=base, headers={"Accept-Language": "en"})
    assert cache.hits == hits + 2
    assert BeautifulSoup(vi.get_data(as_text=True), "html.parser").html["lang"] == "vi"
    assert BeautifulSoup(en.get_data(as_text=True), "html.parser").html["lang"] == "en"


def test_prerender_does_nothing_while_the_cache_is_off(app, db):
    from public.cache import prerender

    assert prerender(app) == 0
