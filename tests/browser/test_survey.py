"""The online survey in a real Chromium: keyboard only, without JavaScript, axe, reflow at 320 px.

Assertions rest on structure, URLs, ``lang`` and the database (read through ``live_app``),
never on the Vietnamese wording.
"""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.axe import assert_no_axe_violations
from tests.browser.conftest import open_narrow_page, open_page

UNIT = "n03646"  # Phường Tô Hiệu, a ward of the tree in force since 1 July 2025
SERVICE = "civil-status"
LANGUAGES = ["vi", "en"]
#: Enough Tab presses to cross the header and a page of questions.
MAX_TABS = 60


def survey_path(instrument: str = "admin-procedure", page: int = 1) -> str:
    suffix = f"/{page}" if page > 1 else ""
    return f"/survey/{UNIT}/{instrument}{suffix}?service={SERVICE}"


def stored_responses(live_app, instrument: str, channel: str) -> list:
    """(id, answers) of the responses stored for the test unit and service."""
    from webapp.extensions import db
    from webapp.models import Instrument, Response, Service, Unit

    with live_app.app_context():
        rows = db.session.execute(
            select(Response.id, Response.answers)
            .join(Unit, Response.unit_id == Unit.id)
            .join(Service, Response.service_id == Service.id)
            .join(Instrument, Response.instrument_id == Instrument.id)
            .where(
                Unit.code == UNIT, Service.code == SERVICE, Instrument.code == instrument, Response.channel == channel
            )
            .order_by(Response.id)
        ).all()
        db.session.remove()
    return rows


def tab_until(page, selector: str) -> None:
    """Press Tab until the focused element matches ``selector`` (fails after MAX_TABS)."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
    pytest.fail(f"Tab never reached {selector}")


# --- completing the survey ---------------------------------------------------------------


def test_quick_rating_with_the_keyboard_only(page, live_app):
    before = stored_responses(live_app, "counter-quick", "online")
    page.goto(survey_path("counter-quick"))
    tab_until(page, "input[name=overall]")
    page.keyboard.press("ArrowDown")  # from "very satisfied" to "satisfied", which selects it
    expect(page.locator("input[name=overall][value='4']")).to_be_checked()
    page.keyboard.press("Tab")  # into the "what went well" checkboxes
    assert page.evaluate("document.activeElement.name") == "went_well"
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    tab_until(page, "button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url("**/thanks?**")
    after = stored_responses(live_app, "counter-quick", "online")
    assert len(after) == len(before) + 1
    assert after[-1].answers == {"overall": 4, "went_well": ["on_time", "staff_attitude"]}


def test_keyboard_user_lands_on_the_error_summary_and_reaches_the_field(page):
    page.goto(survey_path("counter-quick"))
    tab_until(page, "button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(page.locator("#error-summary-title")).to_be_focused()
    page.keyboard.press("Tab")
    expect(summary.locator("a[href='#field-overall']")).to_be_focused()
    page.keyboard.press("Enter")  # the link's target is the first answer: focused, ready to choose
    expect(page.locator("input[name=overall]").first).to_be_focused()
    page.keyboard.press("Space")
    expect(page.locator("input[name=overall]").first).to_be_checked()


def test_admin_procedure_without_javascript(browser, live_server, live_app):
    from surveys import definitions

    instrument = definitions.latest_instruments()["admin-procedure"]
    before = stored_responses(live_app, "admin-procedure", "online")
    page = open_page(browser, live_server, java_script_enabled=False)
    try:
        page.goto(survey_path())
        answers = {"respondent_type": "business", "trips": "2"}
        pages = (
            [answers]
            + [
                {item.code: "4" for item in section.items if item.type == "scale5"}
                for section in instrument.sections[1:-1]
            ]
            + [{"consent_demographics": "yes"}]
        )
        for number, page_answers in enumerate(pages, start=1):
            for name, value in page_answers.items():
                # Matrix sampling: detail questions not drawn for this respondent are not on the page.
                if page.locator(f"input[name='{name}']").count():
                    page.check(f"input[name='{name}'][value='{value}']")
            page.locator("form button[type=submit]").click()
            page.wait_for_load_state()
            assert page.locator(".error-summary").count() == 0, f"page {number} refused"
        page.check("input[name=gender][value=female]")
        page.select_option("select[name=residence]", UNIT)
        page.locator("form button[type=submit]").click()
        page.wait_for_url("**/thanks?**")
        expect(page.locator("h1")).to_have_count(1)
    finally:
        page.context.close()
    after = stored_responses(live_app, "admin-procedure", "online")
    assert len(after) == len(before) + 1, "stored exactly once"
    stored = after[-1].answers
    assert stored["respondent_type"] == "business" and stored["overall"] == 4
    assert stored["gender"] == "female" and stored["residence"] == UNIT


# --- accessibility -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def used_token(live_app) -> str:
    """A receipt code whose rating has already been sent."""
    from surveys import definitions
    from surveys.submission import Submission, submit_response
    from surveys.tokens import issue_token
    from webapp.extensions import db
    from webapp.models import Service, Unit

    instrument = definitions.latest_instruments()["admin-procedure"]
    answers = {"respondent_type": "citizen", **{item.code: 4 for item in instrument.items if item.type == "scale5"}}
    with live_app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.code == UNIT))
        service = db.session.scalar(select(Service).where(Service.code == SERVICE))
        token, row = issue_token(unit, service, f"browser-{uuid.uuid4()}")
        db.session.commit()
        submit_response(
            Submission(
                client_id=uuid.uuid4(),
                instrument_code="admin-procedure",
                unit_code=UNIT,
                service_code=SERVICE,
                channel="qr",
                answers=answers,
                receipt_token=row,
            )
        )
        db.session.remove()
    return token


@pytest.mark.parametrize("lang", LANGUAGES)
def test_survey_pages_have_no_axe_violations(page, lang, used_token):
    def check(path: str, label: str, status: int = 200) -> None:
        response = page.goto(path)
        assert response is not None and response.status == status, f"{label}: {response.status if response else None}"
        expect(page.locator("html")).to_have_attribute("lang", lang)
        expect(page.locator("h1")).to_have_count(1)
        assert_no_axe_violations(page, f"{label}, {lang}")

    check(f"/survey/{UNIT}?lang={lang}", "service list")
    check(survey_path() + f"&lang={lang}", "question page")
    page.locator("form button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator(".error-summary a")).to_have_count(1)
    assert_no_axe_violations(page, f"question page with errors, {lang}")
    page.check("input[name=respondent_type][value=citizen]")
    page.locator("form button[type=submit]").click()
    page.wait_for_url("**/2?**")
    assert_no_axe_violations(page, f"five-point scale page, {lang}")
    check(f"/survey/{UNIT}/admin-procedure/thanks?service={SERVICE}&lang={lang}", "thank-you page")
    check(f"/r/{used_token}?lang={lang}", "receipt already used", status=409)
    check(f"/r/ABC-123?lang={lang}", "receipt code mistyped", status=404)
    check(f"/r?lang={lang}", "receipt code form")


def test_question_page_reflows_at_320_px(browser, live_server):
    page = open_narrow_page(browser, live_server)
    try:
        page.goto(survey_path() + "&lang=vi")
        page.check("input[name=respondent_type][value=business]")
        page.locator("form button[type=submit]").click()
        page.wait_for_url("**/2?**")
        for label in ("five-point scale page", "with errors"):
            width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            assert width[0] <= width[1], f"{label}: horizontal scrolling at 320 px ({width[0]} > {width[1]})"
            page.locator("form button[type=submit]").click()
            page.wait_for_load_state()
        # Every answer is a large target: at least 44 px high.
        heights = page.eval_on_selector_all(".choice", "els => els.map(e => e.getBoundingClientRect().height)")
        assert heights and min(heights) >= 44
    finally:
        page.context.close()
