"""The OpenAPI description of the dossier endpoints matches what the server does (schemathesis checks).

Generated bodies, valid and invalid by the schema, are sent with a real client token; every
schemathesis check applies (no 5xx, documented status codes, headers and bodies, invalid data
refused, the token not ignored) except the acceptance of valid data, which the data decide
(a unit that does not exist is well-formed but refused with 422, as documented).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import max_response_time, positive_data_acceptance
from sqlalchemy import func, select

from webapp.integrations import schema as rules
from webapp.models import Dossier

PATTERNS = {"unit": rules._CODE, "service": rules._CODE, "returned_at": rules._RETURNED_AT}

_strategies: dict = {}


@pytest.fixture()
def open_limits():
    from webapp.extensions import limiter

    limiter.enabled = False
    yield
    limiter.enabled = True


@pytest.fixture()
def bearer(db, registry, open_limits):
    from webapp.integrations import service
    from webapp.models import Unit

    new = service.create_client("Hệ thống một cửa tỉnh", db.session.scalar(select(Unit).where(Unit.code == "sl")))
    db.session.commit()
    return new.token


#: Well-formed values the data accept: a unit in the client's scope, a service it offers, a past date.
#: A recent day (returned_at may be neither in the future nor more than a year old).
RECENT = (date.today() - timedelta(days=10)).isoformat()
REAL = {"unit": "sl-ttpvhcc", "service": "land", "returned_at": f"{RECENT}T10:00:00+07:00"}


def with_real_data(case):
    """Put real codes where the generated ones are well-formed, so a refusal is about the form alone."""
    dossiers = case.body.get("dossiers") if isinstance(case.body, dict) and case.path.endswith("batch") else [case.body]
    for dossier in dossiers if isinstance(dossiers, list) else []:
        if isinstance(dossier, dict):
            for name, value in REAL.items():
                if (
                    isinstance(value, str)
                    and isinstance(dossier.get(name), str)
                    and PATTERNS[name].search(dossier[name])
                ):
                    dossier[name] = value
    return case


def cases(app, path: str):
    key = (id(app), path)
    if key not in _strategies:
        operation = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)[path]["POST"]
        _strategies[key] = st.one_of(
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        ).map(with_real_data)
    return _strategies[key]


@pytest.mark.parametrize("path", ["/dossiers", "/dossiers/batch"])
@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), print_blob=True)
@given(data=st.data())
def test_the_dossier_endpoints_behave_as_documented(app, db, bearer, path, data):
    case = data.draw(cases(app, path), label="case")
    session = app.test_client()
    before = stored(db)
    response = case.call(session=session, headers={"Authorization": f"Bearer {bearer}"})
    assert response.status_code < 500, response.text[:300]
    case.validate_response(
        response,
        excluded_checks=[positive_data_acceptance, max_response_time],
        headers={"Authorization": f"Bearer {bearer}"},
        transport_kwargs={"session": session},
    )
    if response.status_code >= 400:
        assert stored(db) == before, "a refused call stored a dossier"


def stored(db) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Dossier))


# --- the same examples against the document and the server ------------------------------------------

#: Bodies the server refuses for their form alone: the document must call each of them invalid.
MALFORMED = [
    {"dossier_number": ""},
    {"dossier_number": "   "},
    {"dossier_number": "x" * 61},
    {"dossier_number": "HS\x00-1"},
    {"dossier_number": 12345},
    {"unit": "N03646"},
    {"unit": None},
    {"returned_at": "yesterday"},
    {"returned_at": "07/12/2026"},
    {"respondent_type": "alien"},
    {"contact": "0912345678"},
    {"contact": {"phone": "12345"}},
    {"contact": {"phone": "+1 202 555 0100"}},
    {"contact": {"phone": "09123456789"}},
    {"contact": {"phone": "0912--345678"}},
    {"contact": {"email": "not an address"}},
    {"contact": {"email": "a@b"}},
    {"contact": {"fax": "0212"}},
    {"deliver": ["pigeon"]},
    {"deliver": ["sms"]},
    {"deliver": ["email"], "contact": {}},
    {"deliver": ["zalo"], "contact": {"email": "a@example.vn"}},
    {"deliver": ["email"], "contact": {"email": None}},
    {"deliver": "sms"},
    {"deliver": ["sms", "sms"]},
    {"priority": "high"},
]
#: Bodies the server accepts: the document must call each of them valid.
WELL_FORMED = [
    {},
    {"respondent_type": None},
    {"respondent_type": "business"},
    {"contact": None},
    {"contact": {}},
    {"contact": {"phone": "0912 345 678", "email": "a.b@example.vn"}, "deliver": ["sms", "zalo", "email"]},
    {"contact": {"phone": "+84-912-345-678"}, "deliver": ["zalo"]},
    {"contact": {"phone": None}},
    {"deliver": []},
    {"returned_at": RECENT},
    {"returned_at": f"{RECENT} 10:00"},
    {"returned_at": f"{RECENT}T10:00:00.5Z"},
    {"dossier_number": "Hồ sơ số 12/2026"},
]


def body_with(**changes):
    document = {"dossier_number": "HS-1", **REAL}
    document.update(changes)
    return document


@pytest.fixture(scope="module")
def document_schema():
    import jsonschema

    from webapp.integrations.schema import dossier_schema

    return jsonschema.Draft202012Validator(dossier_schema())


@pytest.mark.parametrize("changes", MALFORMED, ids=[str(c)[:40] for c in MALFORMED])
def test_what_the_server_refuses_for_its_form_the_document_calls_invalid(client, bearer, document_schema, changes):
    document = body_with(**changes)
    assert not document_schema.is_valid(document)
    answer = client.post("/api/v1/dossiers", json=document, headers={"Authorization": f"Bearer {bearer}"})
    assert answer.status_code == 422


@pytest.mark.parametrize("changes", WELL_FORMED, ids=[str(c)[:40] for c in WELL_FORMED])
def test_what_the_server_accepts_the_document_calls_valid(client, bearer, document_schema, changes):
    document = body_with(**changes)
    assert document_schema.is_valid(document), list(document_schema.iter_errors(document))
    answer = client.post("/api/v1/dossiers", json=document, headers={"Authorization": f"Bearer {bearer}"})
    assert answer.status_code in (200, 201), answer.json
