"""The OpenAPI description of the dossier endpoints matches what the server does (schemathesis checks).

Generated bodies, valid and invalid by the schema, are sent with a real client token; every
schemathesis check applies (no 5xx, documented status codes, headers and bodies, invalid data
refused, the token not ignored) except the acceptance of valid data, which the data decide
(a unit that does not exist is well-formed but refused with 422, as documented).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import max_response_time, positive_data_acceptance
from sqlalchemy import func, select

from webapp.models import Dossier

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


def cases(app, path: str):
    key = (id(app), path)
    if key not in _strategies:
        operation = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)[path]["POST"]
        _strategies[key] = st.one_of(operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
                                     operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    return _strategies[key]


@pytest.mark.parametrize("path", ["/dossiers", "/dossiers/batch"])
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), print_blob=True)
@given(data=st.data())
def test_the_dossier_endpoints_behave_as_documented(app, db, bearer, path, data):
    case = data.draw(cases(app, path), label="case")
    session = app.test_client()
    before = stored(db)
    response = case.call(session=session, headers={"Authorization": f"Bearer {bearer}"})
    assert response.status_code < 500, response.text[:300]
    case.validate_response(response, excluded_checks=[positive_data_acceptance, max_response_time],
                           headers={"Authorization": f"Bearer {bearer}"}, transport_kwargs={"session": session})
    if response.status_code >= 400:
        assert stored(db) == before, "a refused call stored a dossier"


def stored(db) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Dossier))
