"""The OpenAPI description of ``POST /api/v1/responses/batch`` matches what the server does (schemathesis checks).

Generated bodies, valid and invalid by the schema, are sent with a real device key; every
schemathesis check applies (no 5xx, documented status codes, headers and bodies, invalid data
refused, a missing required header refused) except the acceptance of valid data, which the
data decide (an item naming an office that does not exist is well-formed but answered 422).
Half of the generated items are replaced by real kiosk ratings, so that 201 and 200 results
are checked against the document too.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import max_response_time, positive_data_acceptance
from sqlalchemy import func, select

from webapp.models import Response

PATH = "/responses/batch"
_strategies: dict = {}


@pytest.fixture()
def device_key(app, db, registry, make_device):
    from webapp.extensions import limiter

    limiter.enabled = False
    try:
        yield make_device()[1]
    finally:
        limiter.enabled = True


def real_rating() -> dict:
    return {
        "client_id": str(uuid.uuid4()),
        "instrument": "counter-quick",
        "unit": "sl-ttpvhcc",
        "service": "land",
        "answers": {"overall": 4},
        "answered_at": datetime.now(UTC).isoformat(),
        "duration_seconds": 5,
    }


def cases(app):
    if id(app) not in _strategies:
        operation = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)[PATH]["POST"]
        _strategies[id(app)] = st.one_of(
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        )
    return _strategies[id(app)]


def stored(db) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Response))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), print_blob=True)
@given(data=st.data())
def test_the_batch_endpoint_behaves_as_documented(app, db, device_key, data):
    case = data.draw(cases(app), label="case")
    items = case.body.get("responses") if isinstance(case.body, dict) else None
    if isinstance(items, list) and data.draw(st.booleans(), label="real ratings"):
        for index in range(0, len(items), 2):
            items[index] = real_rating()
    session = app.test_client()
    headers = {"X-Device-Key": device_key}
    before = stored(db)
    response = case.call(session=session, headers=headers)
    assert response.status_code < 500, response.text[:300]
    case.validate_response(
        response,
        excluded_checks=[positive_data_acceptance, max_response_time],
        headers=headers,
        transport_kwargs={"session": session},
    )
    if response.status_code >= 400:
        assert stored(db) == before, "a refused batch stored a response"
    else:
        created = sum(1 for result in response.json()["results"] if result["status"] == 201)
        assert stored(db) == before + created


def test_the_document_bounds_the_batch_and_other_methods_answer_405(client, registry):
    document = client.get("/api/v1/openapi.json").json
    operation = document["paths"][PATH]["post"]
    body = document["components"]["schemas"]["ResponseBatch"]
    assert body["properties"]["responses"]["maxItems"] == 500
    assert set(operation["responses"]) >= {"200", "400", "401", "403", "413", "415", "429"}
    for method in ("get", "put", "delete", "patch"):
        answer = client.open("/api/v1" + PATH, method=method.upper())
        assert answer.status_code == 405, (method, answer.status_code)
        assert "POST" in answer.headers["Allow"]
