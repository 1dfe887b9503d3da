"""The fast path of cached public pages (public/cache.py's FastPath, issue #18).

Every test compares it with the normal path (Flask's request machinery answering from the same
page cache): same status, body and headers but for the nonce and request id, the same log
line; and checks that it answers only what the normal path would answer from the cache.
"""

from __future__ import annotations

import itertools
import logging
import re

from bs4 import BeautifulSoup

from tests.public import test_cache
from tests.public.test_cache import _paths, _publish, _published_part

site, web = test_cache.site, test_cache.web  # the page cache switched on, 2026-Q1 published

#: Accept-Language headers and the page language each must get (select_locale's choice).
LANGUAGES = [
    (None, "vi"),
    ("en", "en"),
    ("vi", "vi"),
    ("en-US,en;q=0.9", "en"),
    ("fr-FR, fr;q=0.9, en;q=0.5, vi;q=0.4", "en"),
    ("vi-VN,vi;q=0.9,en-US;q=0.8,en;q=0.7", "vi"),
    ("fr", "vi"),
]
#: Headers that differ from one response to the next by design.
PER_RESPONSE = {"Content-Security-Policy", "X-Request-ID"}
NONCE = re.compile(r"'nonce-([A-Za-z0-9_-]+)'")


def _headers(accept_language: str | None) -> dict[str, str]:
    return {"Accept-Language": accept_language} if accept_language else {}


def _fast(site, web, path: str, **kwargs):
    """A response the fast path must answer (the test fails if Flask answered it)."""
    from public.cache import page_cache

    cache = page_cache(site)
    before = cache.fast_hits
    response = web.get(path, **kwargs)
    assert cache.fast_hits == before + 1, f"{path} {kwargs}: not answered by the fast path"
    return response


def _normal(site, web, path: str, method: str = "GET", **kwargs):
    """The same request answered by Flask (the fast path switched off)."""
    site.config["PUBLIC_FAST_PATH"] = False
    try:
        return web.open(path, method=method, **kwargs)
    finally:
        site.config.pop("PUBLIC_FAST_PATH")


def _not_fast(site, web, path: str, method: str = "GET", **kwargs):
    """A response the fast path must leave to Flask."""
    from public.cache import page_cache

    cache = page_cache(site)
    before = cache.fast_hits
    response = web.open(path, method=method, **kwargs)
    assert cache.fast_hits == before, f"{method} {path} {kwargs}: answered by the fast path"
    return response


def _fixed_headers(response) -> list[tuple[str, str]]:
    return sorted((name, value) for name, value in response.headers.items() if name not in PER_RESPONSE)


def _lang(response) -> str:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser").html["lang"]


def test_fast_path_answers_as_the_normal_path_does(site, web, db):
    from webapp.security import content_security_policy

    paths = _paths(db)
    assert len(paths) == 3
    for (accept_language, language), path in itertools.product(LANGUAGES, paths):
        headers = _headers(accept_language)
        normal = _normal(site, web, path, headers=headers)  # renders, stores, and shows the fast path the way
        fast = _fast(site, web, path, headers=headers)
        again = _fast(site, web, path, headers=headers)
        assert normal.status_code == fast.status_code == 200, path
        assert fast.get_data() == normal.get_data(), path
        assert _lang(fast) == language, (path, accept_language)
        assert _fixed_headers(fast) == _fixed_headers(normal), path
        assert "Set-Cookie" not in fast.headers
        assert set(fast.headers["Vary"].replace(" ", "").split(",")) == {"Cookie", "Accept-Language"}
        nonces = [NONCE.search(r.headers["Content-Security-Policy"]).group(1) for r in (normal, fast, again)]
        assert len(set(nonces)) == 3, "a fresh nonce for every response"
        assert fast.headers["Content-Security-Policy"] == content_security_policy(nonces[1])
        assert len({r.headers["X-Request-ID"] for r in (normal, fast, again)}) == 3


def test_a_request_id_from_upstream_is_kept(site, web):
    web.get("/")
    response = _fast(site, web, "/", headers={"X-Request-ID": "nginx-42"})
    assert response.headers["X-Request-ID"] == "nginx-42"
    response = _fast(site, web, "/", headers={"X-Request-ID": "not valid!"})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_hsts_over_https_as_the_normal_path(site, web):
    base = "https://sonla.example"
    normal = _normal(site, web, "/", base_url=base)
    fast = _fast(site, web, "/", base_url=base)
    assert fast.headers["Strict-Transport-Security"] == normal.headers["Strict-Transport-Security"]
    assert fast.get_data() == normal.get_data()
    web.get("/")
    assert "Strict-Transport-Security" not in _fast(site, web, "/").headers


def test_language_never_crosses(site, web, db):
    """Each language's page cached first, then asked in the other: never the wrong one."""
    paths = _paths(db)
    assert len(paths) == 3
    for path in paths:
        for first, second in (("en", "vi"), ("vi", "en")):
            site.extensions["public_page_cache"].clear()
            web.get(path, headers={"Accept-Language": first})
            assert _lang(_fast(site, web, path, headers={"Accept-Language": first})) == first
            # A header the fast path has not seen yet goes to Flask, which decides and teaches it.
            assert _lang(_not_fast(site, web, path, headers={"Accept-Language": second})) == second
            assert _lang(_fast(site, web, path, headers={"Accept-Language": second})) == second
            assert _lang(_fast(site, web, path, headers={"Accept-Language": first})) == first


def test_a_publication_shows_at_once(site, web, db):
    paths = _paths(db)
    assert len(paths) == 3
    for path in paths:
        web.get(path)
        assert "2026-Q2" not in _published_part(_fast(site, web, path).get_data(as_text=True))
    _publish(db, "2026-Q2")
    for path in paths:
        # The key holds the snapshots' version, read for every request: the old page is a miss.
        assert "2026-Q2" in _published_part(_not_fast(site, web, path).get_data(as_text=True))
        assert "2026-Q2" in _published_part(_fast(site, web, path).get_data(as_text=True))


def test_cookies_and_queries_go_to_flask(site, web, db):
    path = _paths(db)[0]
    web.get(path)
    _fast(site, web, path)
    for query in ("?lang=en", "?lang=vi", "?utm_source=x", "?page=2"):
        assert _not_fast(site, web, path + query).status_code == 200
    web.delete_cookie("session")  # ?lang= remembered the language in the session
    _fast(site, web, path)
    for name in (site.config["SESSION_COOKIE_NAME"], site.config.get("REMEMBER_COOKIE_NAME", "remember_token")):
        client = site.test_client()
        client.set_cookie(name, "anything")
        _not_fast(site, client, path)
    other = site.test_client()
    other.set_cookie("analytics", "1")  # a cookie the page does not depend on
    _fast(site, other, path)


def test_a_remembered_language_is_never_overridden(site, web, db):
    """A visitor who chose English has a session cookie: Flask answers, in English, whatever the browser says."""
    path = _paths(db)[0]
    web.get(path)
    web.get(path, headers={"Accept-Language": "vi"})
    assert _lang(web.get(path + "?lang=en")) == "en"
    assert _lang(_not_fast(site, web, path, headers={"Accept-Language": "vi"})) == "en"


def test_signed_in_users_go_to_flask(site, web, make_user, sign_in):
    web.get("/")
    _fast(site, web, "/")
    client = sign_in(make_user("admin"), site.test_client())
    page = _not_fast(site, client, "/")
    assert page.status_code == 200
    assert "Set-Cookie" not in page.headers or "session=" in page.headers["Set-Cookie"]


def test_head_and_post_are_not_served_from_it(site, web, db):
    path = _paths(db)[0]
    web.get(path)
    normal_head = _normal(site, web, path, method="HEAD")
    head = _not_fast(site, web, path, method="HEAD")
    assert head.status_code == normal_head.status_code == 200
    assert _fixed_headers(head) == _fixed_headers(normal_head)
    assert _not_fast(site, web, path, method="POST").status_code in (400, 405)


def test_the_fast_path_writes_the_same_log_line(site, web, db, caplog):
    paths = _paths(db)
    assert len(paths) == 3
    for path in paths:
        web.get(path)
        lines = []
        for answer in (_normal, _fast):
            caplog.clear()
            with caplog.at_level(logging.INFO, logger="sonla.requests"):
                response = answer(site, web, path, headers={"X-Forwarded-For": "10.0.0.1"})
            (record,) = [r for r in caplog.records if hasattr(r, "request")]
            assert record.request["request_id"] == response.headers["X-Request-ID"]
            assert record.levelno == logging.INFO
            lines.append(record.request)
        normal, fast = lines
        assert list(fast) == list(normal), "same fields in the same order"
        for field in ("method", "route", "path", "query_keys", "status", "remote_addr", "user_id"):
            assert fast[field] == normal[field], (path, field)
        assert fast["duration_ms"] is not None and fast["time"]


def test_the_fast_path_counts_requests_in_the_metrics(site, web, db):
    from prometheus_client import REGISTRY

    def count() -> float:
        labels = {"method": "GET", "endpoint": "pages.home", "status": "200"}
        return REGISTRY.get_sample_value("sonla_http_requests_total", labels) or 0.0

    web.get("/")
    site.config["METRICS_ENABLED"] = True
    try:
        before = count()
        _fast(site, web, "/")
        assert count() == before + 1
    finally:
        site.config.pop("METRICS_ENABLED")


def test_off_when_asked_or_when_the_page_cache_is_off(site, web):
    web.get("/")
    site.config["PUBLIC_FAST_PATH"] = False
    try:
        _not_fast(site, web, "/")
    finally:
        site.config.pop("PUBLIC_FAST_PATH")
    site.config["PUBLIC_PAGE_CACHE"] = False
    try:
        _not_fast(site, web, "/")
    finally:
        site.config["PUBLIC_PAGE_CACHE"] = True


def test_rate_limits_of_other_routes_are_unchanged(site, web):
    """The fast path never answers a route that is not a cached page: its limits still apply."""
    from tests.webapp.test_auth import post_login
    from webapp.extensions import limiter

    web.get("/")
    _fast(site, web, "/")
    limiter.reset()
    client = site.test_client()
    statuses = [post_login(client, f"x{i}@sonla.gov.vn", "whatever password").status_code for i in range(12)]
    assert statuses[:10] == [401] * 10
    assert statuses[-1] == 429
