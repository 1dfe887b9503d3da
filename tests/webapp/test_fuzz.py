"""Fuzzing: generated requests against the JSON API (schemathesis) and the HTML forms (hypothesis).

Whatever is generated: no answer is a 5xx, a refused request stores no row, and an error
is in the requester's language (``Accept-Language`` is drawn too). ``FUZZ_EXAMPLES`` sets
the examples per test (a few dozen in ``make test``); ``make fuzz`` runs 10,000 requests or
more and prints the count. Rate limits are switched off while fuzzing: they would answer
429 long before the interesting inputs.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.webapp.test_hostile_input import SERVICE, SURVEY, form_token, stored

pytestmark = pytest.mark.fuzz

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
#: ``make fuzz`` sets this: the run fails if fewer requests were generated.
FUZZ_MIN_REQUESTS = int(os.environ.get("FUZZ_MIN_REQUESTS", "0"))
REQUESTS: Counter[str] = Counter()
FUZZ_SETTINGS = settings(
    max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), print_blob=True
)

languages = st.sampled_from(["vi", "en"])
#: Text a person would never type: control characters, surrogates' neighbours, huge digits, markup.
hostile_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=200),
    st.sampled_from(["", " ", "\x00", "0", "-1", "3", "1e999", "NaN", "9" * 5000, "<script>x</script>", "ﬀ", "²"]),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | hostile_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(hostile_text, children, max_size=4),
    max_leaves=15,
)


@pytest.fixture(scope="module", autouse=True)
def request_count():
    """Print how many requests the fuzz tests sent (and enforce the minimum ``make fuzz`` asks)."""
    yield
    total = sum(REQUESTS.values())
    print(f"\nfuzz: {total} generated requests: {dict(REQUESTS)}")
    assert total >= FUZZ_MIN_REQUESTS, f"only {total} requests, expected at least {FUZZ_MIN_REQUESTS}"


@pytest.fixture()
def fuzz_key(app, client, registry, make_device):
    """A device key, with rate limits off for the test."""
    from webapp.extensions import limiter

    limiter.enabled = False
    try:
        yield make_device()[1]
    finally:
        limiter.enabled = True


def assert_page_in(response, lang: str) -> None:
    """An answer below 500; a page (not a redirect) in ``lang``."""
    assert response.status_code < 500, response.status_code
    if response.mimetype == "text/html" and not 300 <= response.status_code < 400:
        html = BeautifulSoup(response.get_data(as_text=True), "html.parser").find("html")
        assert html is not None and html.get("lang") == lang


def assert_json_error_in(response, lang: str) -> None:
    """A JSON error whose message is in ``lang`` (Vietnamese messages always carry diacritics)."""
    message = response.get_json()["error"]["message"]
    assert message
    if lang == "vi":
        assert not message.isascii(), f"not in Vietnamese: {message!r}"


# --- the JSON API, from its OpenAPI document -------------------------------------------------------

_schemas: dict[int, Any] = {}


def api_cases(app):
    """Schemathesis's strategy for every operation of ``/api/v1/openapi.json``, valid and invalid."""
    if id(app) not in _schemas:
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
        _schemas[id(app)] = st.one_of(
            schema.as_strategy(generation_mode=GenerationMode.POSITIVE),
            schema.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        )
    return _schemas[id(app)]


@settings(FUZZ_SETTINGS, max_examples=FUZZ_EXAMPLES * 4)
@given(data=st.data())
def test_the_api_never_fails(app, db, fuzz_key, data):
    case = data.draw(api_cases(app), label="case")
    lang = data.draw(languages, label="lang")
    headers = {"Accept-Language": lang}
    if case.method.upper() == "POST" and data.draw(st.booleans(), label="with device key"):
        headers["X-Device-Key"] = fuzz_key
    before = stored(db)
    # The app's own test client gives every request its own app context, as a server does.
    response = case.call(session=app.test_client(), headers=headers)
    REQUESTS["api (schemathesis)"] += 1
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
    if response.status_code >= 400:
        assert stored(db) == before
        if response.status_code not in (304,):
            assert_json_error_in(_FlaskLike(response), lang)


class _FlaskLike:
    """Schemathesis's response with the ``get_json`` of Flask's."""

    def __init__(self, response):
        self.response = response

    def get_json(self):
        return self.response.json()


@FUZZ_SETTINGS
@given(
    changes=st.dictionaries(
        st.sampled_from(
            [
                "client_id",
                "instrument",
                "instrument_version",
                "unit",
                "service",
                "channel",
                "answers",
                "reasons",
                "answered_at",
                "duration_seconds",
                "respondent_type",
                "token",
            ]
        )
        | hostile_text,
        json_values,
        max_size=4,
    ),
    drop=st.sets(st.sampled_from(["client_id", "instrument", "unit", "service", "channel", "answers"]), max_size=2),
    lang=languages,
)
def test_submissions_never_fail_and_refusals_store_nothing(app, client, db, fuzz_key, kiosk_body, changes, drop, lang):
    body = {**kiosk_body(), **changes}
    for name in drop:
        body.pop(name, None)
    before = stored(db)
    response = client.post("/api/v1/responses", json=body, headers={"X-Device-Key": fuzz_key, "Accept-Language": lang})
    REQUESTS["POST /api/v1/responses"] += 1
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    if response.status_code >= 400:
        assert stored(db) == before
        assert_json_error_in(response, lang)
    else:
        assert stored(db) == before + (1 if response.status_code == 201 else 0)


# --- the HTML forms -----------------------------------------------------------------------------------


@FUZZ_SETTINGS
@given(
    fields=st.dictionaries(
        st.sampled_from(["respondent_type", "trips", "overall", "comment", "website", "consent_demographics"])
        | hostile_text,
        hostile_text,
        max_size=5,
    ),
    lang=languages,
)
def test_the_survey_form_never_fails(app, client, db, fuzz_key, fields, lang):
    action, token = form_token(client, SURVEY)
    before = stored(db)
    response = client.post(action, data={**fields, "csrf_token": token}, headers={"Accept-Language": lang})
    REQUESTS["survey form"] += 2
    assert_page_in(response, lang)
    # The quick rating has one page: only valid answers, which lead on to the thank-you page, are stored.
    if response.status_code == 302 and "/thanks" in response.headers["Location"]:
        assert stored(db) <= before + 1
    else:
        assert stored(db) == before


@FUZZ_SETTINGS
@given(code=hostile_text, lang=languages)
def test_the_receipt_code_form_never_fails(app, client, db, fuzz_key, code, lang):
    headers = {"Accept-Language": lang}
    typed = client.get("/r", query_string={"code": code}, headers=headers)
    assert_page_in(typed, lang)
    followed = client.get(f"/r/{quote(code, safe='')}", headers=headers)
    assert_page_in(followed, lang)
    posted = client.post("/r", data={"code": code}, headers=headers)
    assert posted.status_code == 400
    assert_page_in(posted, lang)
    REQUESTS["receipt code"] += 3
    assert stored(db) == 0


@FUZZ_SETTINGS
@given(
    fields=st.fixed_dictionaries(
        {},
        optional={
            "service": st.just(SERVICE) | hostile_text,
            "overall": st.sampled_from(["1", "2", "3"]) | hostile_text,
            "client_id": st.uuids().map(str) | hostile_text,
            "went_well": hostile_text,
        },
    ),
    lang=languages,
)
def test_the_kiosk_form_never_fails(app, client, db, fuzz_key, fields, lang):
    action, token = form_token(client, f"/kiosk/{fuzz_key}")
    before = stored(db)
    response = client.post(action, data={**fields, "csrf_token": token}, headers={"Accept-Language": lang})
    REQUESTS["kiosk form"] += 2
    assert_page_in(response, lang)
    if response.status_code == 200:
        assert stored(db) <= before + 1
    else:
        assert 400 <= response.status_code < 500
        assert stored(db) == before


def test_the_fuzzers_reach_every_api_operation(app, db, fuzz_key):
    """The OpenAPI document names every operation the JSON API serves (else it goes unfuzzed)."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    documented = {(result.ok().method.upper(), result.ok().path) for result in schema.get_all_operations()}
    served = {
        (method, rule.rule.removeprefix("/api/v1").replace("<", "{").replace(">", "}"))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and rule.endpoint != "api.openapi"
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    assert served <= documented, served - documented
