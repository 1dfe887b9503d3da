"""Receipt QR codes: ``/r/<token>`` starts the survey bound to one dossier, once; ``/r`` takes a typed code.

Assertions rest on status codes, structure, the database and English text (``?lang=en``).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from surveys.tokens import VALIDITY, display_token, issue_token, token_for
from tests.pages import check_page
from tests.surveys.test_online import (
    PAGES,
    SERVICE,
    UNIT,
    answer_pages,
    path_of,
    post_form,
    stored_count,
    survey_url,
)
from webapp.extensions import limiter
from webapp.models import ReceiptToken, Response, Service, Unit, utcnow


@pytest.fixture(autouse=True)
def fresh_rate_limits(app):
    with app.app_context():
        limiter.reset()


@pytest.fixture()
def make_token(db, registry):
    """``make_token(case_number, unit=UNIT, service=SERVICE, issued=None)`` → the printed code."""

    def factory(case_number: str = "HS-2026-0001", unit: str = UNIT, service: str = SERVICE, issued=None) -> str:
        unit_row = db.session.scalar(select(Unit).where(Unit.code == unit))
        service_row = db.session.scalar(select(Service).where(Service.code == service))
        token, _ = issue_token(unit_row, service_row, case_number, now=issued)
        db.session.commit()
        return token

    return factory


def token_row(db, token: str) -> ReceiptToken:
    db.session.expire_all()
    return db.session.scalars(select(ReceiptToken)).one()


# --- a valid code ------------------------------------------------------------------------


def test_valid_token_starts_the_survey_of_its_unit_and_service(client, db, make_token):
    token = make_token()
    response = client.get(f"/r/{token}")
    assert response.status_code == 302
    assert path_of(response) == survey_url()
    soup = check_page(client.get(path_of(response) + "&lang=en"), lang="en")
    assert "Civil status" in soup.find(class_="survey-context").get_text()
    assert stored_count(db) == 0, "opening the link stores nothing"


def test_survey_from_a_receipt_is_stored_with_channel_qr_and_uses_the_token(client, db, make_token):
    token = make_token()
    last = answer_pages(client, PAGES, start=path_of(client.get(f"/r/{token}")))
    assert "/thanks" in path_of(last)
    stored = db.session.scalars(select(Response)).one()
    assert stored.channel == "qr"
    assert stored.unit.code == UNIT and stored.service.code == SERVICE
    row = token_row(db, token)
    assert row.used_at is not None and row.response_id == stored.id


def test_typed_code_with_dashes_and_lower_case_works_too(client, make_token):
    token = make_token()
    response = client.get(f"/r/{display_token(token).lower()}")
    assert response.status_code == 302 and path_of(response) == survey_url()


def test_second_use_is_refused_politely(client, app, db, make_token):
    token = make_token()
    answer_pages(client, PAGES, start=path_of(client.get(f"/r/{token}")))
    for visitor in (client, app.test_client()):
        soup = check_page(visitor.get(f"/r/{token}?lang=en"), status=409, lang="en")
        assert soup.h1.get_text(strip=True) == "This receipt has already been used to give a rating"
        assert not soup.find("form", method="post")
    assert stored_count(db) == 1


def test_token_used_meanwhile_by_someone_else_is_refused_at_the_end(client, app, db, make_token):
    token = make_token()
    answer_pages(client, PAGES[:-1], start=path_of(client.get(f"/r/{token}")))
    # Someone else answers with the same receipt and finishes first.
    other = app.test_client()
    answer_pages(other, PAGES, start=path_of(other.get(f"/r/{token}")))
    soup = check_page(client.get(survey_url(8) + "&lang=en"))
    soup = check_page(post_form(client, soup, PAGES[-1]), status=409, lang="en")
    assert "already been used" in soup.h1.get_text()
    assert stored_count(db) == 1
    assert db.session.scalars(select(Response.channel)).all() == ["qr"]


def test_starting_from_the_receipt_again_before_sending_keeps_the_answers(client, make_token):
    token = make_token()
    answer_pages(client, PAGES[:2], start=path_of(client.get(f"/r/{token}")))
    client.get(f"/r/{token}")
    soup = check_page(client.get(survey_url(2)))
    assert soup.find("input", {"name": "access_overall", "value": "5"}).has_attr("checked")


# --- codes that cannot be used -----------------------------------------------------------


def test_forged_token_is_unknown(client, db, make_token):
    make_token()
    unit = db.session.scalar(select(Unit).where(Unit.code == UNIT))
    forged = token_for(unit, "a dossier that was never issued")  # well formed, but never stored
    soup = check_page(client.get(f"/r/{forged}?lang=en"), status=404, lang="en")
    assert soup.h1.get_text(strip=True) == "We do not know this code"
    form = soup.find("form")
    assert form["method"] == "get" and form["action"] == "/r"
    assert stored_count(db) == 0


@pytest.mark.parametrize("damage", ["first_character", "shorter", "foreign_character"])
def test_mistyped_token_asks_to_check_the_code(client, db, make_token, damage):
    token = make_token()
    if damage == "first_character":
        # The check character catches any change of the first character.
        wrong = ("1" if token[0] != "1" else "2") + token[1:]
    elif damage == "shorter":
        wrong = token[:-2]
    else:
        wrong = token[:5] + "*" + token[6:]
    soup = check_page(client.get(f"/r/{wrong}?lang=en"), status=404, lang="en")
    assert soup.h1.get_text(strip=True) == "This code is not quite right"
    assert soup.find("input", {"name": "code"})["value"] == wrong
    assert soup.find("label", {"for": "code"})
    assert stored_count(db) == 0
    assert token_row(db, token).used_at is None


def test_expired_token_is_gone(client, db, make_token):
    token = make_token(issued=utcnow() - VALIDITY - timedelta(days=1))
    soup = check_page(client.get(f"/r/{token}?lang=en"), status=410, lang="en")
    assert soup.h1.get_text(strip=True) == "This survey code has expired"
    assert soup.find("a", href=f"/survey/{UNIT}"), "the office can still be rated online"
    # Nothing was started: the survey pages do not know the token.
    assert client.get(survey_url(2)).status_code == 302
    assert stored_count(db) == 0


def test_expired_or_unknown_tokens_start_nothing(client, db, make_token):
    make_token()
    client.get("/r/0000000000000000")
    check_page(client.get(survey_url()))
    answer_pages(client, PAGES)
    assert db.session.scalars(select(Response.channel)).all() == ["online"]
    assert (
        db.session.scalar(select(func.count()).select_from(ReceiptToken).where(ReceiptToken.used_at.is_not(None))) == 0
    )


# --- typing the code ---------------------------------------------------------------------


def test_code_form_is_labelled_and_leads_to_the_code(client, make_token):
    soup = check_page(client.get("/r?lang=en"), lang="en")
    form = soup.find("form")
    assert form["method"] == "get" and form["action"] == "/r"
    assert soup.find("label", {"for": "code"}).get_text(strip=True) == "Code on your receipt"
    token = make_token()
    response = client.get("/r", query_string={"code": f"  {display_token(token)} "})
    assert response.status_code == 302 and path_of(response) == f"/r/{display_token(token)}"
    assert client.get(path_of(response)).status_code == 302


def test_code_form_without_a_code_says_what_to_do(client, registry):
    soup = check_page(client.get("/r?code=&lang=en"), status=422, lang="en")
    assert [a["href"] for a in soup.select(".error-summary a")] == ["#code"]
    assert "field-error" in str(soup.find(id="code-error")["class"])


def test_code_form_can_be_posted_with_a_csrf_token_only(client, registry):
    check_page(client.post("/r", data={"code": "ABCD"}), status=400)
    soup = check_page(client.get(survey_url()))
    csrf_token = soup.find("input", {"name": "csrf_token"})["value"]
    response = client.post("/r", data={"code": "ABCD", "csrf_token": csrf_token})
    assert response.status_code == 302 and path_of(response) == "/r/ABCD"
