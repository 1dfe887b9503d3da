"""The base pages: home, health check, error pages, language choice."""

from __future__ import annotations

import pytest

from tests.pages import check_page


def test_home_is_vietnamese_by_default(client):
    soup = check_page(client.get("/"), lang="vi")
    assert "Chỉ số Hài lòng Sơn La" in soup.h1.get_text()
    assert soup.find("a", class_="skip-link")["href"] == "#main"


def test_lang_query_switches_and_is_remembered(client):
    soup = check_page(client.get("/?lang=en"), lang="en")
    assert "Sơn La Satisfaction Index" in soup.h1.get_text()
    # Next request without ?lang stays in English (kept in the session).
    check_page(client.get("/"), lang="en")
    check_page(client.get("/?lang=vi"), lang="vi")


def test_browser_language_is_used_when_nothing_was_chosen(client):
    check_page(client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}), lang="en")
    check_page(client.get("/", headers={"Accept-Language": "fr-FR"}), lang="vi")


def test_unknown_lang_value_is_ignored(client):
    check_page(client.get("/?lang=xx"), lang="vi")


def test_language_switch_keeps_other_query_arguments(client):
    soup = check_page(client.get("/?lang=vi&x=1"))
    link = soup.find("a", hreflang="en")["href"]
    assert "x=1" in link and "lang=en" in link


def test_healthz_answers_when_database_is_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_404_is_a_plain_language_page(client):
    soup = check_page(client.get("/no-such-page"), status=404)
    assert "Không tìm thấy trang" in soup.h1.get_text()


def test_404_in_english(client):
    soup = check_page(client.get("/no-such-page?lang=en"), status=404, lang="en")
    assert soup.h1.get_text() == "Page not found"


def test_api_errors_are_json(client):
    response = client.get("/api/v1/units/no-such-unit")
    assert response.status_code == 404
    assert response.json["error"]["status"] == 404


def test_405_page(client):
    check_page(client.post("/healthz"), status=405)


@pytest.mark.parametrize("status", [400, 403, 429, 500, 503])
def test_every_error_page_renders(app, client, status):
    from webapp.errors import render_error

    with app.test_request_context("/?lang=en"):
        body, code = render_error(status)
    assert code == status
    assert "<h1>" in body


def test_percentages_follow_the_locale(app):
    from webapp.i18n import percent

    with app.test_request_context("/?lang=vi"):
        app.preprocess_request()
        assert percent(0.853) == "85,3%"
    with app.test_request_context("/?lang=en"):
        assert percent(0.853) == "85.3%"
