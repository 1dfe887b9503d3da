"""Language packs in a real browser: the switch offers Thái and Mông, their pages pass axe, Tai Viet renders.

The shipped packs are empty, so a Thái page reads in Vietnamese apart from the names in the switch; what
matters here is that the pages declare their languages correctly, stay accessible and usable by keyboard,
and that the Tai Viet web font is loaded only where Tai Viet text appears.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.axe import assert_no_axe_violations


@pytest.mark.parametrize("lang", ["blt", "hnj"])
def test_pack_pages_pass_axe_and_declare_their_language(page, lang):
    response = page.goto(f"/?lang={lang}")
    assert response is not None and response.status == 200
    assert page.locator("html").get_attribute("lang") in (lang, f"{lang}-Latn")
    expect(page.locator(".lang-switch [aria-current]")).to_have_count(1)
    assert_no_axe_violations(page, f"home page in {lang}")


def test_switch_reaches_thai_by_keyboard_and_loads_the_tai_viet_font(page):
    page.goto("/?lang=vi")
    thai = page.locator('.lang-switch a[hreflang="blt"]')
    expect(thai).to_have_attribute("lang", "blt")
    expect(thai).to_contain_text("ꪼꪕꪒꪾ")
    thai.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**lang=blt**")
    assert page.locator("html").get_attribute("lang") == "blt"
    page.evaluate("document.fonts.ready")
    loaded = page.evaluate(
        "() => [...document.fonts].filter(f => f.family.includes('Tai Viet') && f.status === 'loaded').length"
    )
    assert loaded == 1, "the Tai Viet name in the switch pulls in Noto Sans Tai Viet"
    width = page.locator('.lang-switch [aria-current][lang="blt"]').evaluate(
        "element => element.getBoundingClientRect().width"
    )
    assert width > 0
