"""Hostile input: whatever is sent, the answer is a 4xx in the requester's language, never a 500,
and nothing is stored.

Every case is sent twice, with ``Accept-Language: vi`` and ``Accept-Language: en``: the two
answers must have the same status, be in their own language (``<html lang>`` for pages, and
the error message of JSON answers), and differ from each other, which they only do when the
message really was translated.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from bs4 import BeautifulSoup
from flask_babel import force_locale
from flask_babel import gettext as babel_gettext
from sqlalchemy import func, select

from tests.pages import check_page

UNIT = "sl-ttpvhcc"
SERVICE = "land"
SURVEY = f"/survey/{UNIT}/counter-quick?service={SERVICE}"
API = "/api/v1/responses"
LANGUAGES = ("vi", "en")
#: Over MAX_CONTENT_LENGTH (5 MiB).
HUGE = 6 * 1024 * 1024
Send = Callable[[dict[str, str]], Any]


@pytest.fixture(autouse=True)
def fresh_rate_limits(app):
    from webapp.extensions import limiter

    with app.app_context():
        limiter.reset()


def stored(db) -> int:
    from webapp.models import Response

    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Response))


def translated(app, message: str, lang: str) -> str:
    with app.test_request_context(), force_locale(lang):
        return babel_gettext(message)


def page_in_both_languages(send: Send, *, statuses: set[int] | None = None) -> dict[str, BeautifulSoup]:
    """Send a request as a Vietnamese and as an English browser; both get the same 4xx page, each in its language."""
    soups, headings, seen = {}, {}, set()
    for lang in LANGUAGES:
        response = send({"Accept-Language": lang})
        assert 400 <= response.status_code < 500, f"{lang}: {response.status_code}"
        assert statuses is None or response.status_code in statuses, f"{lang}: {response.status_code}"
        seen.add(response.status_code)
        soups[lang] = check_page(response, status=response.status_code, lang=lang)
        headings[lang] = soups[lang].h1.get_text(" ", strip=True)
    assert len(seen) == 1, seen
    assert headings["vi"] != headings["en"], f"the page is not translated: {headings}"
    return soups


def json_in_both_languages(send: Send, *, statuses: set[int] | None = None) -> dict[str, dict]:
    """Like :func:`page_in_both_languages` for JSON answers: ``{"error": {"message": …}}``."""
    documents, seen = {}, set()
    for lang in LANGUAGES:
        response = send({"Accept-Language": lang})
        assert 400 <= response.status_code < 500, f"{lang}: {response.status_code}"
        assert statuses is None or response.status_code in statuses, f"{lang}: {response.status_code}"
        assert response.mimetype == "application/json", response.mimetype
        seen.add(response.status_code)
        documents[lang] = response.get_json()
        assert documents[lang]["error"]["message"], documents[lang]
    assert len(seen) == 1, seen
    vi, en = documents["vi"]["error"]["message"], documents["en"]["error"]["message"]
    assert vi != en, f"the message is not translated: {vi!r}"
    assert not en.isascii() or en.isascii() and not vi.isascii(), "the Vietnamese message has no Vietnamese letters"
    return documents


def form_token(client, url: str, headers: dict[str, str] | None = None) -> tuple[str, str]:
    """The post address and CSRF token of the page's POST form (the session now holds its secret)."""
    response = client.get(url, headers=headers or {})
    assert response.status_code == 200, response.status_code
    form = BeautifulSoup(response.get_data(as_text=True), "html.parser").find("form", method="post")
    return form["action"], form.find("input", {"name": "csrf_token"})["value"]


@pytest.fixture()
def device_key(make_device) -> str:
    return make_device()[1]


@pytest.fixture()
def receipt_token(db, registry, unit_by_code) -> str:
    from surveys.tokens import issue_token
    from webapp.models import Service

    service = db.session.scalar(select(Service).where(Service.code == SERVICE))
    token, _ = issue_token(unit_by_code(UNIT), service, "HS-HOSTILE-0001")
    db.session.commit()
    return token


def api_post(client, data: bytes | str, headers: dict[str, str], content_type: str = "application/json"):
    return client.post(API, data=data, content_type=content_type, headers=headers)


def kiosk_document(**overrides) -> dict[str, Any]:
    document = {
        "client_id": str(uuid.uuid4()),
        "instrument": "counter-quick",
        "unit": UNIT,
        "service": SERVICE,
        "channel": "kiosk",
        "answers": {"overall": 3},
    }
    return {**document, **overrides}


# --- oversized bodies -----------------------------------------------------------------------


def test_oversized_form_bodies_are_refused_with_413(client, db, registry, device_key):
    for url in ("/r", SURVEY, f"/kiosk/{device_key}"):
        soups = page_in_both_languages(
            lambda headers, url=url: client.post(url, data={"code": "A" * HUGE}, headers=headers), statuses={413}
        )
        assert soups["en"].h1.get_text(strip=True) == "What you sent is too large"
    assert stored(db) == 0


def test_oversized_api_bodies_are_refused_with_413(client, db, device_key):
    for size in (70 * 1024, HUGE):
        body = json.dumps(kiosk_document(padding="x" * size))
        json_in_both_languages(
            lambda headers, body=body: api_post(client, body, {**headers, "X-Device-Key": device_key}), statuses={413}
        )
    assert stored(db) == 0


# --- broken JSON --------------------------------------------------------------------------------


BROKEN_JSON = [
    pytest.param("[" * 20_000 + "]" * 20_000, 400, id="deeply-nested-array"),
    pytest.param('{"answers": ' + '{"a": ' * 5_000 + "1" + "}" * 5_001, 400, id="deeply-nested-object"),
    pytest.param(
        json.dumps(kiosk_document(answers={"overall": {"a": {"b": {"c": [[[[3]]]]}}}})), 422, id="nested-answer"
    ),
    pytest.param(b'{"client_id": "\xff\xfe"}', 400, id="invalid-utf8"),
    pytest.param(b"\xef\xbb\xbf{}", 400, id="byte-order-mark"),
    pytest.param(json.dumps(kiosk_document(unit="sl-\x00ttpvhcc")), 422, id="nul-in-string"),
    pytest.param(json.dumps(kiosk_document(answers={"overall\x00": 3})), 422, id="nul-in-key"),
    pytest.param(json.dumps(kiosk_document(answers={"overall": 10**30})), 422, id="huge-int"),
    pytest.param('{"answers": {"overall": ' + "9" * 5_000 + "}}", 400, id="int-beyond-python-limit"),
    pytest.param('{"duration_seconds": 1e999}', 422, id="infinite-float"),
    pytest.param('{"duration_seconds": NaN}', 422, id="nan"),
    pytest.param(json.dumps(kiosk_document(instrument_version=2**63)), 422, id="version-beyond-bigint"),
    pytest.param(json.dumps(kiosk_document(answered_at="9999999-01-01T00:00:00+07:00")), 422, id="year-out-of-range"),
    pytest.param("", 400, id="empty"),
    pytest.param("null", 422, id="null"),
]


def test_broken_json_is_refused(client, db, device_key):
    for case in BROKEN_JSON:
        data, status = case.values
        try:
            json_in_both_languages(
                lambda headers, data=data: api_post(client, data, {**headers, "X-Device-Key": device_key}),
                statuses={status},
            )
        except AssertionError as error:
            raise AssertionError(f"{case.id}: {error}") from error
    assert stored(db) == 0


def test_wrong_content_types_are_refused_with_415(client, db, device_key):
    body = json.dumps(kiosk_document())
    for content_type in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
    ):
        json_in_both_languages(
            lambda headers, content_type=content_type: api_post(
                client, body, {**headers, "X-Device-Key": device_key}, content_type
            ),
            statuses={415},
        )
    assert stored(db) == 0


# --- NUL bytes, invalid UTF-8 and huge numbers in addresses ----------------------------------------

HOSTILE_PATHS = [
    "/units/%00",
    "/units/sl-%00",
    "/indicators/%00",
    "/survey/%00",
    f"/survey/{UNIT}/%00?service={SERVICE}",
    f"/survey/{UNIT}/counter-quick?service=%00",
    f"/survey/{UNIT}/counter-quick/99999999999999999999999?service={SERVICE}",
    f"/survey/%00/counter-quick/thanks?service={SERVICE}",
    "/r/%00",
    "/r/%FF%FE",
    "/kiosk/%00",
    "/kiosk/%00/manifest.webmanifest",
    "/units/%FF",
    "/data/%00/estimates.csv",
    "/data/99999999999-Q4/estimates.json",
    "/static/%00",
    "/kiosk/static/%00",
]
HOSTILE_API_PATHS = [
    "/api/v1/units/%00",
    "/api/v1/units/%FF",
    "/api/v1/estimates?unit=%00",
    "/api/v1/estimates?indicator=%00",
    "/api/v1/estimates?period=%00",
    "/api/v1/estimates?period=99999999999-Q4",
    "/api/v1/estimates?period=2025-Q9",
    "/api/v1/estimates?unit=%FF%FE",
    "/api/v1/units?page=99999999999999999999",
    "/api/v1/units?limit=-1",
]


def test_hostile_addresses_get_a_4xx_page(client, db, registry):
    for path in HOSTILE_PATHS:
        try:
            page_in_both_languages(lambda headers, path=path: client.get(path, headers=headers))
        except AssertionError as error:
            raise AssertionError(f"{path}: {error}") from error
    assert stored(db) == 0


def test_hostile_api_addresses_never_fail(client, db, registry):
    """A filter that matches nothing may answer an empty list; a refusal is a JSON error in the caller's language."""
    for path in HOSTILE_API_PATHS:
        response = client.get(path)
        assert response.status_code < 500 and response.mimetype == "application/json", (path, response.status_code)
        if response.status_code >= 400:
            json_in_both_languages(lambda headers, path=path: client.get(path, headers=headers))


def test_numbers_beyond_any_identifier_in_addresses_name_nothing(app, client, db, registry, device_key):
    from werkzeug.routing import IntegerConverter

    from tests.webapp.test_security_headers import sample_url

    numeric = [
        rule
        for rule in app.url_map.iter_rules()
        if any(isinstance(converter, IntegerConverter) for converter in rule._converters.values())
    ]
    assert numeric, "no route takes a number"
    for rule in numeric:
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        assert methods, rule
        for number in (2**31, 10**20, 10**400):
            url = sample_url(rule, device_key, number=number)
            for method in methods:
                response = client.open(url, method=method)
                assert 400 <= response.status_code < 500, (method, url[:80], response.status_code)


def test_hostile_query_strings_never_fail(client, db, registry):
    for query in ("q=%00", "q=%FF%FE", "q=" + "a" * 10_000, "lang=%00", "lang=%FF", "service=%00", "page=-1"):
        for path in ("/units", "/", "/r", SURVEY.split("?")[0], "/api/v1/units"):
            response = client.get(f"{path}?{query}")
            assert response.status_code < 500, (path, query, response.status_code)


# --- receipt tokens --------------------------------------------------------------------------------


def test_forged_receipt_tokens_start_no_survey(client, db, registry):
    from surveys.tokens import ALPHABET, _check_character

    body = "ABCDEFGHJKMNPQR"
    well_formed_forgery = body + _check_character(body)
    mistyped = body + next(c for c in ALPHABET if c != _check_character(body))
    for token in (well_formed_forgery, mistyped, "x" * 5_000, "%00" * 16):
        soups = page_in_both_languages(
            lambda headers, token=token: client.get(f"/r/{token}", headers=headers), statuses={404}
        )
        assert not soups["en"].find("form", method="post")
    assert stored(db) == 0


def test_a_forged_receipt_token_through_the_api_is_refused(client, db, device_key):
    body = json.dumps(kiosk_document(token="ABCDEFGHJKMNPQRS"))
    documents = json_in_both_languages(lambda headers: api_post(client, body, {**headers, "X-Device-Key": device_key}))
    assert documents["en"]["error"]["field"] == "token"
    assert stored(db) == 0


def test_a_receipt_token_cannot_be_spent_or_replayed_through_the_api(client, db, device_key, receipt_token):
    """The JSON path is the kiosk's: it takes no receipt code, so a kiosk key can neither spend nor replay one."""
    body = json.dumps(kiosk_document(token=receipt_token))
    documents = json_in_both_languages(
        lambda headers: api_post(client, body, {**headers, "X-Device-Key": device_key}), statuses={422}
    )
    assert documents["en"]["error"] == {**documents["en"]["error"], "field": "token", "code": "unknown_field"}
    assert stored(db) == 0
    # The receipt itself still opens its survey, unspent (a used one would answer 409).
    for lang in LANGUAGES:
        response = client.get(f"/r/{receipt_token}", headers={"Accept-Language": lang})
        assert response.status_code == 302 and "/survey/" in response.location
    assert stored(db) == 0


# --- device keys ------------------------------------------------------------------------------------


def test_forged_device_keys_get_the_refusal_page(client, db, registry):
    for key in ("forged-key", "A" * 300, "%FF%FE", "..%2F..%2Fetc"):
        for path in (f"/kiosk/{key}", f"/kiosk/{key}/manifest.webmanifest"):
            page_in_both_languages(lambda headers, path=path: client.get(path, headers=headers), statuses={404})


def test_a_forged_device_key_cannot_post_the_kiosk_form(client, db, device_key):
    # A real kiosk page's CSRF token, sent to another (forged) kiosk address.
    _, token = form_token(client, f"/kiosk/{device_key}")
    page_in_both_languages(
        lambda headers: client.post(
            "/kiosk/forged-key", data={"csrf_token": token, "service": SERVICE, "overall": "3"}, headers=headers
        ),
        statuses={404},
    )
    assert stored(db) == 0


def test_forged_device_keys_cannot_post_to_the_api(client, db):
    body = json.dumps(kiosk_document())
    for key in ("forged-key", "", " ", "x" * 5_000, "\u0111\u00e2y-l\u00e0-kh\u00f3a"):
        # Header values travel as latin-1: a non-latin key arrives as its UTF-8 bytes.
        header = key.encode().decode("latin-1")
        json_in_both_languages(
            lambda headers, header=header: api_post(client, body, {**headers, "X-Device-Key": header}),
            statuses={400, 403},
        )
    assert stored(db) == 0


# --- hostile values in the HTML forms --------------------------------------------------------------

HOSTILE_VALUES = [
    "\x00",
    "3\x00",
    "\ufffd\ufffd",
    "9" * 5_000,
    "\u00b2",
    "9" * 12,
    "-1",
    "1e999",
    "NaN",
    "\u202e3",
    "<script>alert(1)</script>",
]


def test_hostile_values_in_the_kiosk_form(client, db, device_key):
    from webapp.extensions import limiter

    action, token = form_token(client, f"/kiosk/{device_key}")
    for value in HOSTILE_VALUES:
        limiter.reset()  # the form allows a person's pace, 20 a minute; this is a machine's
        for data in ({"service": SERVICE, "overall": value}, {"service": value, "overall": "3"}):
            soups = page_in_both_languages(
                lambda headers, data=data: client.post(action, data={"csrf_token": token, **data}, headers=headers),
                # A NUL character is refused before any view (webapp.security): a bad request.
                statuses={400} if "\x00" in value else {422},
            )
            assert "<script>alert" not in str(soups["en"])
    assert stored(db) == 0
    # A hostile client id is replaced by a new one: the rating itself is fine.
    limiter.reset()
    harmless = [value for value in HOSTILE_VALUES if "\x00" not in value]
    assert harmless
    for value in harmless:
        data = {"csrf_token": token, "service": SERVICE, "overall": "3", "client_id": value}
        assert client.post(action, data=data).status_code == 200
    assert stored(db) == len(harmless)


def test_hostile_values_in_the_survey_form(client, db, registry):
    action, token = form_token(client, SURVEY)
    for value in HOSTILE_VALUES:
        data = {"csrf_token": token, "website": "", "respondent_type": value, "trips": value, "overall": value}
        if "\x00" in value:
            page_in_both_languages(
                lambda headers, data=data: client.post(action, data=data, headers=headers), statuses={400}
            )
            continue
        for lang in LANGUAGES:
            response = client.post(action, data=data, headers={"Accept-Language": lang})
            assert response.status_code < 500, (value, response.status_code)
            soup = check_page(response, status=response.status_code, lang=lang)
            # Refused: the page is shown again with its error summary, and the survey goes no further.
            assert soup.find(class_="error-summary"), f"{value!r} was accepted"
            assert "<script>alert" not in str(soup)
    assert stored(db) == 0


def test_invalid_utf8_form_bodies_are_refused_whole(app, client, db, device_key):
    """Werkzeug drops a form body that is not UTF-8, CSRF token included: the form has "expired"."""
    expected = {lang: translated(app, "This form has expired", lang) for lang in LANGUAGES}
    for page in (f"/kiosk/{device_key}", SURVEY):
        action, token = form_token(client, page)
        body = f"csrf_token={token}&service={SERVICE}&overall=\xff&respondent_type=\xfe".encode("latin-1")
        soups = page_in_both_languages(
            lambda headers, action=action, body=body: client.post(
                action, data=body, content_type="application/x-www-form-urlencoded", headers=headers
            ),
            statuses={400},
        )
        assert {lang: soup.h1.get_text(strip=True) for lang, soup in soups.items()} == expected
    assert stored(db) == 0


def test_hostile_receipt_codes_typed_in_the_form(client, db, registry):
    for code in ("\x00", "%00", "\xff", "A" * 100_000, "<b>1</b>"):
        assert client.get("/r", query_string={"code": code}).status_code in ({400} if "\x00" in code else {302, 422})
        soups = page_in_both_languages(
            lambda headers, code=code: client.get(f"/r/{code}", headers=headers), statuses={404}
        )
        assert "<b>1</b>" not in str(soups["en"])
    assert stored(db) == 0


# --- CSRF ---------------------------------------------------------------------------------------------


#: Machine endpoints that take a POST outside /api/ and prove who sends it otherwise than by a form's
#: CSRF token: the SMS gateway signs every call (webapp/sms/webhook.py). Anything else must be a form.
SIGNED_WEBHOOKS = {"/sms/inbound"}


def html_post_rules(app, device_key: str) -> list[str]:
    """A sample address of every route that takes a POST and is not part of the JSON API or a signed webhook."""
    from tests.webapp.test_security_headers import sample_url

    return [
        sample_url(rule, device_key)
        for rule in app.url_map.iter_rules()
        if "POST" in (rule.methods or set()) and not rule.rule.startswith("/api/") and rule.rule not in SIGNED_WEBHOOKS
    ]


def test_the_only_csrf_exempt_routes_outside_the_api_are_the_signed_webhooks(app):
    """A new exemption from CSRF protection outside /api/ fails here until it is listed (and signed)."""
    from webapp.extensions import csrf

    exempt = set()
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        name = f"{view.__module__}.{view.__name__}"
        blueprint = app.blueprints.get(rule.endpoint.rsplit(".", 1)[0]) if "." in rule.endpoint else None
        is_exempt = name in csrf._exempt_views or blueprint in csrf._exempt_blueprints
        if is_exempt and "POST" in (rule.methods or set()) and not rule.rule.startswith("/api/"):
            exempt.add(rule.rule)
    assert exempt == SIGNED_WEBHOOKS


def test_every_html_form_refuses_a_post_without_csrf_token(app, client, db, registry, device_key):
    urls = html_post_rules(app, device_key)
    assert {"/r", f"/kiosk/{device_key}", f"/survey/{UNIT}/counter-quick?service={SERVICE}"} <= set(urls)
    expected = {lang: translated(app, "This form has expired", lang) for lang in LANGUAGES}
    for url in urls:
        for data in ({}, {"csrf_token": "forged"}, {"csrf_token": ""}):
            soups = page_in_both_languages(
                lambda headers, url=url, data=data: client.post(url, data=data, headers=headers), statuses={400}
            )
            for lang in LANGUAGES:
                assert soups[lang].h1.get_text(strip=True) == expected[lang], url
        # A JSON body is no way around it either.
        response = client.post(url, json={"service": SERVICE, "overall": 3})
        assert response.status_code == 400, url
    assert stored(db) == 0


def test_a_csrf_token_of_another_session_is_refused(app, client, db, device_key):
    action, token = form_token(app.test_client(), f"/kiosk/{device_key}")
    page_in_both_languages(
        lambda headers: client.post(
            action, data={"csrf_token": token, "service": SERVICE, "overall": "3"}, headers=headers
        ),
        statuses={400},
    )
    assert stored(db) == 0
