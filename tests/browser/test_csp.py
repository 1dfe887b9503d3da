"""The Content-Security-Policy in a real Chromium: the site's own pages break none of its rules.

A listener for ``securitypolicyviolation`` events is installed before any page script runs,
and console messages are collected: a blocked inline script or style, a stylesheet, image,
worker, manifest or ``fetch`` from elsewhere would show up in one or the other.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_kiosk import make_device

UNIT = "sl-ttpvhcc"
SERVICE = "land"
PAGES = {
    "home": "/",
    "indicator": "/indicators/sat-procedures",
    "unit": f"/units/{UNIT}",
    "units search": "/units?q=Sơn",
    "survey": f"/survey/{UNIT}/counter-quick?service={SERVICE}",
    "receipt code": "/r",
}
#: Runs in every document before its own scripts (Playwright injects it outside the page's CSP).
LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"} ` +
                              `at ${event.sourceFile || "-"}:${event.lineNumber}`);
});
"""


@pytest.fixture()
def watched_page(browser, live_server):
    """A page whose CSP violations and console errors are recorded in ``page.csp_problems()``."""
    from tests.browser.conftest import open_page

    page = open_page(browser, live_server, service_workers="allow")
    page.add_init_script(LISTEN)
    console: list[str] = []
    page.on(
        "console",
        lambda message: (
            console.append(message.text)
            if message.type in {"error", "warning"} or "Content Security Policy" in message.text
            else None
        ),
    )

    def problems() -> list[str]:
        violations = page.evaluate("window.__cspViolations || []")
        return violations + [text for text in console if "Content Security Policy" in text or "Refused" in text]

    page.csp_problems = problems  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        page.context.close()


@pytest.mark.parametrize("name", sorted(PAGES))
def test_public_pages_and_the_survey_break_no_csp_rule(watched_page, name):
    response = watched_page.goto(PAGES[name])
    assert response is not None and response.status == 200
    assert "nonce-" in response.headers["content-security-policy"]
    watched_page.wait_for_load_state("networkidle")
    # The stylesheet applied: the page is not unstyled (a blocked stylesheet would leave it so).
    assert watched_page.evaluate("document.styleSheets.length") >= 1
    assert watched_page.csp_problems() == []


def test_the_kiosk_breaks_no_csp_rule(watched_page, live_app):
    _, key = make_device(live_app, "Quầy CSP")
    response = watched_page.goto(f"/kiosk/{key}?service={SERVICE}")
    assert response is not None and response.status == 200
    # The script, its service worker and the manifest all came through the policy.
    watched_page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    expect(watched_page.locator("body")).to_have_attribute("data-offline-ready", "true")
    watched_page.locator("#rate-form button[name='overall'][value='3']").click()
    expect(watched_page.locator("#stage-reasons")).to_be_visible()
    watched_page.wait_for_load_state("networkidle")
    assert watched_page.csp_problems() == []


def test_the_listener_does_see_a_violation(watched_page):
    """The check above can fail: an inline style attribute added to the page is reported."""
    watched_page.goto("/")
    watched_page.evaluate("document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">x</p>')")
    watched_page.wait_for_timeout(200)
    assert any("style-src" in problem for problem in watched_page.csp_problems())
