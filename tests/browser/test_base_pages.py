"""The base pages in a real browser: accessibility (axe), language choice, keyboard, reflow.

Assertions rest on ``lang`` attributes, roles and structure rather than on translated text,
so they hold while the Vietnamese catalogue is being filled in.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.axe import assert_no_axe_violations
from tests.browser.conftest import NARROW

LANGUAGES = ["vi", "en"]
MISSING_PAGE = "/khong-co-trang-nay"


def html_lang(page) -> str | None:
    return page.locator("html").get_attribute("lang")


def assert_page_structure(page) -> None:
    """What every page has: one h1, a main landmark to skip to, a title starting with the h1."""
    expect(page.locator("h1")).to_have_count(1)
    expect(page.locator("main#main")).to_have_count(1)
    h1 = " ".join(page.locator("h1").inner_text().split())
    assert h1, "the <h1> is empty"
    assert " ".join(page.title().split()).startswith(h1), f"title {page.title()!r} should start with the h1 {h1!r}"


# --- accessibility of the home and error pages ------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_home_page_has_no_axe_violations(page, lang):
    response = page.goto(f"/?lang={lang}")
    assert response is not None and response.status == 200
    assert html_lang(page) == lang
    assert_page_structure(page)
    assert_no_axe_violations(page, f"home page, {lang}")


def test_home_page_is_vietnamese_for_a_browser_without_vi_or_en(new_page):
    """Nothing chosen and the browser asks for neither language: Vietnamese, the default."""
    page = new_page(locale="fr-FR")
    page.goto("/")
    assert html_lang(page) == "vi"
    assert_no_axe_violations(page, "home page, default language")


def test_home_page_follows_a_browser_that_prefers_english(new_page):
    page = new_page(locale="en-GB")
    page.goto("/")
    assert html_lang(page) == "en"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_missing_page_is_an_accessible_404(page, lang):
    response = page.goto(f"{MISSING_PAGE}?lang={lang}")
    assert response is not None and response.status == 404
    assert html_lang(page) == lang
    assert_page_structure(page)
    # The way out is a real link back home.
    expect(page.locator("main a[href='/']")).to_have_count(1)
    assert_no_axe_violations(page, f"404 page, {lang}")


# --- language switch ---------------------------------------------------------------------


def test_language_switch_is_remembered_for_the_session(page):
    page.goto("/")
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "vi")
    switch = page.get_by_role("navigation").filter(has=page.locator("a[hreflang]"))
    expect(switch.locator("[aria-current='true']")).to_have_count(1)

    english = switch.locator("a[hreflang='en']")
    expect(english).to_have_text("English")
    expect(english).to_have_attribute("lang", "en")
    english.click()
    expect(html).to_have_attribute("lang", "en")
    assert "lang=en" in page.url

    # No ?lang on the next visit: the choice is kept in the session.
    page.goto("/")
    expect(html).to_have_attribute("lang", "en")

    vietnamese = switch.locator("a[hreflang='vi']")
    expect(vietnamese).to_have_text("Tiếng Việt")
    expect(vietnamese).to_have_attribute("lang", "vi")
    vietnamese.click()
    expect(html).to_have_attribute("lang", "vi")

    page.goto("/")
    expect(html).to_have_attribute("lang", "vi")


# --- keyboard ----------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_first_tab_reveals_the_skip_link_and_enter_moves_to_main(page, lang):
    page.goto(f"/?lang={lang}")
    skip = page.locator("a.skip-link")
    expect(skip).to_have_attribute("href", "#main")
    expect(skip).not_to_be_in_viewport()

    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport(ratio=1)
    name = " ".join(skip.inner_text().split())
    assert name, "the skip link has no text"
    if lang == "en":
        assert name == "Skip to main content"

    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))
    main = page.locator("main#main")
    expect(main).to_be_focused()
    expect(main).to_be_in_viewport()
    expect(skip).not_to_be_in_viewport()

    # The next Tab continues inside the main content, past the header links.
    page.keyboard.press("Tab")
    assert page.evaluate("document.getElementById('main').contains(document.activeElement)"), (
        "after the skip link, Tab should move to the first link inside <main>, got "
        + page.evaluate("document.activeElement.outerHTML")
    )


# --- small screens -----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/?lang=vi", "/?lang=en", f"{MISSING_PAGE}?lang=vi", f"{MISSING_PAGE}?lang=en"])
def test_no_horizontal_scrolling_at_320_px(narrow_page, path):
    narrow_page.goto(path)
    sizes = narrow_page.evaluate(
        "({scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth})"
    )
    assert sizes["client"] == NARROW["width"], sizes
    if sizes["scroll"] > NARROW["width"]:
        wide = narrow_page.evaluate(
            """(limit) => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > limit + 0.5)
                .slice(0, 10)
                .map(e => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).replace(/ +/g, '.') : '')
                          + ' right=' + Math.round(e.getBoundingClientRect().right))""",
            NARROW["width"],
        )
        pytest.fail(
            f"{path} scrolls sideways at 320 px: scrollWidth {sizes['scroll']}; too wide: {wide}", pytrace=False
        )


def test_home_page_at_320_px_has_no_axe_violations(narrow_page):
    narrow_page.goto("/?lang=vi")
    assert_no_axe_violations(narrow_page, "home page at 320 px, vi")


# --- health check ------------------------------------------------------------------------


def test_healthz_answers_json_in_the_browser(page):
    response = page.goto("/healthz")
    assert response is not None and response.status == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"status": "ok", "database": "ok"}

    again = page.request.get("/healthz")
    assert again.ok and again.json()["status"] == "ok"
