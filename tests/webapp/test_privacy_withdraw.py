"""Withdrawing consent: the "About you" answers of a response are deleted with the receipt's code.

Decree 13/2023/NĐ-CP: the respondent may withdraw consent after sending. ``/privacy/withdraw``
(self-service) and ``flask privacy withdraw`` (staff, for requests by phone or in person) both
call :func:`webapp.services.privacy.withdraw_demographics`. Assertions rest on status codes,
the database and English text (``?lang=en``).
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from surveys.tokens import display_token, issue_token, token_for
from tests.pages import check_page
from tests.surveys.test_online import PAGES, SERVICE, UNIT, answer_pages, path_of
from webapp.extensions import limiter
from webapp.models import AuditEvent, ReceiptToken, Response, ResponseScore, Service, Unit

#: The answers of the "About you" page (page 9, once the respondent said yes).
ABOUT_YOU = {"gender": "female", "age_band": "35_44", "ethnicity": "muong", "residence": UNIT}
DEMOGRAPHIC_ITEMS = {"gender", "age_band", "ethnicity", "residence"}
URL = "/privacy/withdraw"


@pytest.fixture(autouse=True)
def fresh_rate_limits(app):
    with app.app_context():
        limiter.reset()


@pytest.fixture()
def make_token(db, registry):
    """``make_token(case_number)`` → the code printed on a new receipt of the ward's civil-status service."""

    def factory(case_number: str = "HS-2026-0001") -> str:
        unit = db.session.scalar(select(Unit).where(Unit.code == UNIT))
        service = db.session.scalar(select(Service).where(Service.code == SERVICE))
        token, _row = issue_token(unit, service, case_number)
        db.session.commit()
        return token

    return factory


@pytest.fixture()
def answered(client, db, make_token):
    """``answered(about_you=True)`` → the code of a receipt whose QR survey was answered (with "About you")."""

    def answer(about_you: bool = True, case_number: str = "HS-2026-0001") -> str:
        token = make_token(case_number)
        pages = PAGES[:-1] + ([{"consent_demographics": "yes"}, ABOUT_YOU] if about_you else [PAGES[-1]])
        last = answer_pages(client, pages, start=path_of(client.get(f"/r/{token}")))
        assert "/thanks" in path_of(last)
        return token

    return answer


def mistyped(token: str) -> str:
    """``token`` with a wrong check character: one letter misread."""
    return token[:-1] + ("1" if token.endswith("0") else "0")


def stored(db) -> Response:
    db.session.expire_all()
    return db.session.scalars(select(Response)).one()


def snapshot(db) -> dict:
    """Everything withdrawing must leave alone: rating columns, other answers and scores."""
    response = stored(db)
    scores = db.session.execute(
        select(ResponseScore.metric, ResponseScore.satisfied).where(ResponseScore.response_id == response.id)
    ).all()
    return {
        "answers": {k: v for k, v in response.answers.items() if k not in DEMOGRAPHIC_ITEMS | {"consent_demographics"}},
        "scores": sorted(scores),
        "counts": (response.items_rated, response.items_satisfied, response.items_score_sum, response.kiosk_rating),
        "status": (response.status, response.quality_flags, response.channel, response.period),
    }


def withdraw_events(db) -> list[AuditEvent]:
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == "privacy.withdraw_demographics")).all()


def assert_withdrawn(db, before: dict) -> None:
    response = stored(db)
    assert response.consent_demographics is False
    assert (response.gender, response.age_band, response.ethnicity_group, response.residence_area) == (None,) * 4
    assert response.residence_unit_id is None
    assert not set(response.answers) & DEMOGRAPHIC_ITEMS
    assert response.answers["consent_demographics"] == "no"
    assert snapshot(db) == before, "the rating, its scores and the other answers are untouched"
    events = withdraw_events(db)
    assert len(events) == 1
    event = events[0]
    assert event.object_type == "response" and event.object_id == str(response.id)
    logged = json.dumps([event.before, event.after, event.detail], ensure_ascii=False)
    for value in ("female", "35_44", "muong", UNIT):
        assert value not in logged, f"the audit event must not hold the answer {value!r}"


def page_form(client, url: str = URL):
    soup = check_page(client.get(url + "?lang=en"), lang="en")
    return soup.find("form", method="post")


def send(client, form, **data):
    """POST ``form`` with its hidden fields (CSRF token included) and ``data``."""
    fields = {field["name"]: field.get("value", "") for field in form.find_all("input", type="hidden")}
    return client.post(form["action"] + "?lang=en", data={**fields, **data})


def withdraw_through_the_page(client, code: str):
    """Type ``code``, then confirm: the final answer."""
    answer = send(client, page_form(client), code=code)
    soup = check_page(answer, lang="en")
    confirm = soup.find("form", method="post")
    assert confirm is not None, "the confirmation step has its own form"
    return send(client, confirm)


# --- the page ----------------------------------------------------------------------------


def test_page_has_a_labelled_code_field_and_a_csrf_token(client, db):
    form = page_form(client)
    assert form is not None and form.find("input", {"name": "csrf_token"})["value"]
    assert form.find("input", {"name": "code"})


def test_withdrawing_with_the_receipt_code_deletes_the_about_you_answers(client, db, answered):
    token = answered()
    response = stored(db)
    assert response.consent_demographics is True and response.gender == "female"
    before = snapshot(db)

    # The code is typed as people do: lower case, with the dashes of the receipt.
    answer = send(client, page_form(client), code=display_token(token).lower())
    soup = check_page(answer, lang="en")
    assert stored(db).gender == "female", "nothing is deleted before the person confirms"
    text = soup.get_text()
    for value in ("female", "Female", "35", "Mường", "Tô Hiệu"):
        assert value not in text, "the page never shows what was answered"
    answer = send(client, soup.find("form", method="post"))
    soup = check_page(answer, lang="en")
    assert "have been deleted" in soup.h1.get_text()
    assert_withdrawn(db, before)


def test_second_withdrawal_says_it_was_already_done(client, db, answered):
    token = answered()
    withdraw_through_the_page(client, token)
    before = snapshot(db)
    answer = send(client, page_form(client), code=token)
    soup = check_page(answer, lang="en")
    assert "already" in soup.h1.get_text()
    assert not soup.find("form", method="post"), "nothing left to confirm"
    assert_withdrawn(db, before)


def test_confirming_twice_says_it_was_already_done(client, db, answered):
    token = answered()
    confirm = check_page(send(client, page_form(client), code=token)).find("form", method="post")
    first, second = send(client, confirm), send(client, confirm)
    assert "have been deleted" in check_page(first, lang="en").h1.get_text()
    assert "already" in check_page(second, lang="en").h1.get_text()
    assert len(withdraw_events(db)) == 1


@pytest.mark.parametrize(
    ("kind", "status", "message"),
    [
        ("unknown", 404, "We do not know this code"),
        ("mistyped", 400, "wrong or missing"),
        ("unused", 404, "No answers were sent with this code"),
        ("empty", 422, "Enter the code printed on your receipt"),
    ],
)
def test_a_code_that_leads_to_no_answers_is_refused_with_a_message(
    client, db, answered, make_token, kind, status, message
):
    answered()
    before = snapshot(db)
    unit = db.session.scalar(select(Unit).where(Unit.code == UNIT))
    codes = {
        "unknown": token_for(unit, "HS-never-issued"),
        "mistyped": mistyped(make_token("HS-2026-0002")),
        "unused": make_token("HS-2026-0003"),
        "empty": "",
    }
    answer = send(client, page_form(client), code=codes[kind])
    soup = check_page(answer, status=status, lang="en")
    assert message in soup.get_text()
    assert soup.select_one(".error-summary a[href='#code']"), "the error links to the field"
    assert stored(db).gender == "female"
    assert snapshot(db) == before and not withdraw_events(db)


def test_a_response_without_about_you_answers_is_refused_with_a_message(client, db, answered):
    token = answered(about_you=False)
    before = snapshot(db)
    answer = send(client, page_form(client), code=token)
    soup = check_page(answer, status=409, lang="en")
    assert "nothing to delete" in soup.get_text()
    assert stored(db).answers["consent_demographics"] == "no"
    assert snapshot(db) == before and not withdraw_events(db)


def test_the_confirmation_is_checked_again_when_sent(client, db, answered):
    """A forged confirmation with an unknown code deletes nothing."""
    token = answered()
    confirm = check_page(send(client, page_form(client), code=token)).find("form", method="post")
    fields = {field["name"]: field.get("value", "") for field in confirm.find_all("input", type="hidden")}
    unit = db.session.scalar(select(Unit).where(Unit.code == UNIT))
    fields["code"] = token_for(unit, "HS-never-issued")
    answer = client.post(confirm["action"] + "?lang=en", data=fields)
    assert answer.status_code == 404
    assert stored(db).gender == "female" and not withdraw_events(db)


def test_the_form_needs_its_csrf_token(client, db, answered):
    token = answered()
    confirm = check_page(send(client, page_form(client), code=token)).find("form", method="post")
    fields = {field["name"]: field.get("value", "") for field in confirm.find_all("input", type="hidden")}
    del fields["csrf_token"]
    answer = client.post(confirm["action"], data=fields)
    assert answer.status_code == 400
    assert stored(db).gender == "female" and not withdraw_events(db)


def test_thank_you_page_links_to_the_withdrawal_page(client, db, answered):
    answered()
    soup = check_page(client.get(f"/survey/{UNIT}/admin-procedure/thanks?lang=en"), lang="en")
    assert soup.find("a", href=URL)


def test_route_is_declared(app):
    from webapp.access import TOKEN_HOLDER

    assert app.blueprints["privacy"].access_rule == TOKEN_HOLDER


# --- the staff command -------------------------------------------------------------------


def test_command_deletes_the_same_answers(client, db, runner, answered):
    token = answered()
    before = snapshot(db)
    result = runner.invoke(args=["privacy", "withdraw", "--code", display_token(token), "--reason", "Phone request"])
    assert result.exit_code == 0, result.output
    assert "deleted" in result.output.lower()
    assert_withdrawn(db, before)
    assert withdraw_events(db)[0].actor == "cli"
    again = runner.invoke(args=["privacy", "withdraw", "--code", token, "--reason", "Phone request"])
    assert again.exit_code == 0 and "already" in again.output
    assert len(withdraw_events(db)) == 1


def test_command_refuses_an_unknown_code_and_an_empty_reason(client, db, runner, answered):
    token = answered()
    unit = db.session.scalar(select(Unit).where(Unit.code == UNIT))
    result = runner.invoke(args=["privacy", "withdraw", "--code", token_for(unit, "HS-x"), "--reason", "Phone"])
    assert result.exit_code == 1 and "do not know this code" in result.output
    result = runner.invoke(args=["privacy", "withdraw", "--code", token, "--reason", "  "])
    assert result.exit_code != 0 and "reason" in result.output.lower()
    assert stored(db).gender == "female" and not withdraw_events(db)


# --- the service -------------------------------------------------------------------------


def test_service_finds_by_code_and_is_idempotent(client, db, answered):
    from webapp.services import ServiceError
    from webapp.services.privacy import Withdrawal, find_response_by_code, withdraw_demographics

    token = answered()
    response = find_response_by_code(display_token(token).lower())
    assert response.id == stored(db).id
    row = db.session.scalars(select(ReceiptToken)).one()
    assert row.response_id == response.id
    assert withdraw_demographics(response, actor="cli", reason="test") is Withdrawal.WITHDRAWN
    db.session.commit()
    assert withdraw_demographics(response, actor="cli", reason="test") is Withdrawal.ALREADY_WITHDRAWN
    db.session.commit()
    assert len(withdraw_events(db)) == 1
    with pytest.raises(ServiceError) as refused:
        find_response_by_code("not a code")
    assert refused.value.code == "code_mistyped" and refused.value.status == 400


def test_consent_given_but_every_question_skipped_is_still_withdrawn(client, db, answered, make_token):
    """Saying yes is itself an answer about oneself: withdrawing turns it to no."""
    token = make_token()
    pages = PAGES[:-1] + [{"consent_demographics": "yes"}, {}]
    answer_pages(client, pages, start=path_of(client.get(f"/r/{token}")))
    assert stored(db).consent_demographics is True
    withdraw_through_the_page(client, token)
    response = stored(db)
    assert response.consent_demographics is False and response.answers["consent_demographics"] == "no"
    assert len(withdraw_events(db)) == 1
