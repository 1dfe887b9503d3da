"""``POST /api/v1/dossiers`` and ``/dossiers/batch``: a survey link for every returned dossier.

Runs on SQLite and PostgreSQL. Assertions rest on status codes, the answer's fields, the
database (what is stored, and that no dossier number or contact is) and the audit trail.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from surveys.tokens import display_token, token_for
from webapp.extensions import db as database
from webapp.extensions import limiter
from webapp.integrations import service
from webapp.models import AuditEvent, Dossier, IntegrationClient, ReceiptToken, Unit
from webapp.periods import VIETNAM

UNIT = "n03646"
SERVICE = "civil-status"
NUMBER = "000.00.12.H52-261207-0001"


@pytest.fixture()
def make_client(db, registry):
    """``make_client(unit_code="n03646", name=...) -> (IntegrationClient, token)``."""

    def make(unit_code: str = UNIT, name: str = "Hệ thống một cửa tỉnh"):
        unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
        new = service.create_client(name, unit)
        db.session.commit()
        return new.client, new.token

    return make


@pytest.fixture()
def token(make_client):
    return make_client()[1]


def body(**overrides):
    document = {
        "dossier_number": NUMBER,
        "unit": UNIT,
        "service": SERVICE,
        "returned_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
    }
    document.update(overrides)
    return {name: value for name, value in document.items() if value is not ...}


def post(http, document, token, path="/api/v1/dossiers", **headers):
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return http.post(path, json=document, headers=headers)


def count(model) -> int:
    database.session.rollback()
    return database.session.scalar(select(func.count()).select_from(model))


# --- the link ----------------------------------------------------------------------------------


def test_new_dossier_gets_a_link_to_the_receipt_survey_and_the_same_link_again(client, db, token):
    first = post(client, body(), token)
    assert first.status_code == 201, first.json
    assert set(first.json) == {"survey_url", "code", "expires_on"}
    unit = db.session.scalar(select(Unit).where(Unit.code == UNIT))
    expected = token_for(unit, NUMBER)
    assert first.json["survey_url"] == f"http://sonla-index.test.invalid/r/{expected}"
    assert first.json["code"] == display_token(expected)
    assert first.headers["Cache-Control"] == "no-store"
    row = db.session.scalars(select(ReceiptToken)).one()
    assert first.json["expires_on"] == row.expires_at.astimezone(VIETNAM).date().isoformat()
    assert row.unit.code == UNIT and row.service.code == SERVICE

    again = post(client, body(returned_at=(date.today() - timedelta(days=3)).isoformat()), token)
    assert again.status_code == 200 and again.json == first.json
    # Spaces around the number, or runs of spaces inside it, do not make another dossier.
    assert post(client, body(dossier_number=f"  {NUMBER} "), token).json == first.json
    assert post(client, body(dossier_number="HS 2026   7"), token).status_code == 201
    assert post(client, body(dossier_number=" HS  2026 7"), token).status_code == 200
    assert count(ReceiptToken) == 2 and count(Dossier) == 2


def test_the_dossier_row_records_the_client_and_nothing_personal(client, db, make_client):
    issuer, token = make_client()
    returned = (datetime.now(VIETNAM) - timedelta(days=20)).replace(hour=9, minute=30, second=0, microsecond=0)
    response = post(
        client,
        body(
            returned_at=returned.isoformat(),
            respondent_type="business",
            contact={"phone": "0912 345 678", "email": "nguyen.van.a@example.vn"},
            deliver=["sms", "email"],
        ),
        token,
    )
    assert response.status_code == 201, response.json
    dossier = db.session.scalars(select(Dossier)).one()
    assert dossier.client_id == issuer.id and dossier.respondent_type == "business"
    assert dossier.returned_at == returned and dossier.unit.code == UNIT and dossier.service.code == SERVICE
    dumped = dump_database(db)
    for secret in (NUMBER, "912345678", "912 345 678", "nguyen.van.a", token):
        assert secret not in dumped, secret


def dump_database(db) -> str:
    """Every row of every table as text (to look for something that must not be stored)."""
    db.session.rollback()
    rows = []
    for table in db.metadata.sorted_tables:
        rows.extend(str(tuple(row)) for row in db.session.execute(select(table)))
    return "\n".join(rows)


def test_a_code_printed_at_the_counter_for_the_dossier_is_the_same_link(client, db, token):
    from surveys.tokens import issue_token

    unit = db.session.scalar(select(Unit).where(Unit.code == UNIT))
    printed, row = issue_token(unit, next(s for s in unit.services if s.code == SERVICE), NUMBER)
    db.session.commit()
    response = post(client, body(), token)
    assert response.status_code == 200
    assert response.json["code"] == display_token(printed)
    assert count(ReceiptToken) == 1 and count(Dossier) == 1, "the dossier is recorded, the code is not made twice"


def test_the_same_number_for_another_service_is_a_conflict(client, db, token):
    assert post(client, body(), token).status_code == 201
    response = post(client, body(service="land"), token)
    assert response.status_code == 409
    assert response.json["error"]["field"] == "dossier_number"
    assert count(ReceiptToken) == 1 and count(Dossier) == 1


def test_the_same_number_at_another_unit_is_another_dossier(client, db, make_client):
    _, token = make_client("sl")
    first = post(client, body(), token)
    other = post(client, body(unit="n03688"), token)
    assert first.status_code == other.status_code == 201
    assert first.json["code"] != other.json["code"]


def test_fifty_concurrent_reports_of_one_dossier_store_one_link(app, client, db, token):
    document = body()
    barrier = threading.Barrier(50)
    results: list[tuple[int, str | None]] = []
    lock = threading.Lock()

    def send():
        local = app.test_client()
        barrier.wait()
        answer = post(local, document, token)
        with lock:
            results.append((answer.status_code, (answer.json or {}).get("code")))

    threads = [threading.Thread(target=send) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(results) == 50
    statuses = sorted(status for status, _ in results)
    assert statuses.count(201) == 1 and statuses.count(200) == 49, statuses
    assert len({code for _, code in results}) == 1
    assert count(ReceiptToken) == 1 and count(Dossier) == 1


# --- who may call ------------------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Bearer", "Basic dXNlcjpwYXNz", "Bearer slsi_not-a-real-token", "Bearer é"])
def test_no_or_bad_token_is_401_with_a_bearer_challenge(client, db, token, header):
    headers = {"Authorization": header} if header else {}
    response = client.post("/api/v1/dossiers", json=body(), headers={**headers, "Accept-Language": "en"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json["error"]["field"] == "Authorization" and response.json["error"]["message"]
    assert count(ReceiptToken) == 0 and count(Dossier) == 0


def test_a_revoked_client_is_refused_at_once(client, db, make_client):
    issuer, token = make_client()
    assert post(client, body(), token).status_code == 201
    service.revoke_client(db.session.get(IntegrationClient, issuer.id))
    db.session.commit()
    response = post(client, body(dossier_number="HS-2"), token)
    assert response.status_code == 401 and 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert count(Dossier) == 1


def test_a_unit_outside_the_clients_scope_is_403(client, db, make_client):
    _, token = make_client("n03646")
    assert post(client, body(unit="tyt-n03646", service="outpatient"), token).status_code == 201, "below its unit"
    response = post(client, body(unit="n03688"), token)
    assert response.status_code == 403 and response.json["error"]["field"] == "unit"
    assert count(Dossier) == 1


def test_the_token_is_only_stored_as_a_hash_and_last_use_is_noted(client, db, make_client):
    issuer, token = make_client()
    assert issuer.last_used_at is None
    post(client, body(), token)
    db.session.expire_all()
    stored = db.session.get(IntegrationClient, issuer.id)
    assert stored.last_used_at is not None
    assert stored.token_hash == service.hash_token(token) and token not in dump_database(db)


# --- bad bodies: 4xx naming the field, nothing stored ---------------------------------------------

FUTURE = (datetime.now(UTC) + timedelta(days=2)).isoformat()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"dossier_number": ...}, "dossier_number"),
        ({"dossier_number": ""}, "dossier_number"),
        ({"dossier_number": "   "}, "dossier_number"),
        ({"dossier_number": "x" * 61}, "dossier_number"),
        ({"dossier_number": "HS\x00-1"}, "dossier_number"),
        ({"dossier_number": 12345}, "dossier_number"),
        ({"unit": ...}, "unit"),
        ({"unit": "nowhere"}, "unit"),
        ({"unit": "N03646"}, "unit"),
        ({"service": "teleportation"}, "service"),
        ({"service": "outpatient"}, "service"),
        ({"returned_at": ...}, "returned_at"),
        ({"returned_at": "yesterday"}, "returned_at"),
        ({"returned_at": "2026-02-30"}, "returned_at"),
        ({"returned_at": "07/12/2026"}, "returned_at"),
        ({"returned_at": FUTURE}, "returned_at"),
        ({"returned_at": "0001-01-01"}, "returned_at"),
        ({"returned_at": "0001-01-01T00:00:00+14:00"}, "returned_at"),
        ({"returned_at": (datetime.now(UTC) - timedelta(days=367)).isoformat()}, "returned_at"),
        ({"respondent_type": "alien"}, "respondent_type"),
        ({"contact": "0912345678"}, "contact"),
        ({"contact": {"phone": "12345"}}, "contact.phone"),
        ({"contact": {"phone": "+1 202 555 0100"}}, "contact.phone"),
        ({"contact": {"phone": "09123456789"}}, "contact.phone"),
        ({"contact": {"email": "not an address"}}, "contact.email"),
        ({"contact": {"email": "a@b"}}, "contact.email"),
        ({"contact": {"fax": "0212"}}, "contact.fax"),
        ({"deliver": ["sms"]}, "deliver"),
        ({"deliver": ["email"], "contact": {"phone": "0912345678"}}, "deliver"),
        ({"deliver": ["pigeon"], "contact": {"phone": "0912345678"}}, "deliver"),
        ({"deliver": "sms", "contact": {"phone": "0912345678"}}, "deliver"),
        ({"deliver": ["sms", "sms"], "contact": {"phone": "0912345678"}}, "deliver"),
        ({"priority": "high"}, "priority"),
    ],
)
def test_a_bad_field_is_422_naming_it_and_stores_nothing(client, db, token, changes, field):
    response = post(client, body(**changes), token, **{"Accept-Language": "en"})
    assert response.status_code == 422, response.json
    assert field in {error["field"] for error in response.json["errors"]}
    assert response.json["error"]["message"]
    assert count(ReceiptToken) == 0 and count(Dossier) == 0


@pytest.mark.parametrize("phone", ["0912345678", "0912 345 678", "0912.345.678", "+84 912-345-678", "+84912345678"])
def test_vietnamese_phone_numbers_with_separators_are_accepted(client, db, token, phone):
    response = post(client, body(contact={"phone": phone}, deliver=["sms", "zalo"]), token)
    assert response.status_code == 201, response.json


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        ("[1, 2]", "application/json", 422),
        ('"dossier"', "application/json", 422),
        ("null", "application/json", 422),
        ("{not json", "application/json", 400),
        ("dossier_number=1", "application/x-www-form-urlencoded", 415),
        ('{"a": "' + "x" * 20_000 + '"}', "application/json", 413),
    ],
)
def test_bodies_that_are_not_one_json_object_are_4xx(client, db, token, data, content_type, status):
    response = client.post(
        "/api/v1/dossiers", data=data, content_type=content_type, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == status
    assert response.json["error"]["status"] == status
    assert count(Dossier) == 0


@pytest.mark.parametrize("field", ["dossier_number", "unit", "contact.email", "contact.phone"])
def test_text_that_is_not_unicode_is_refused_not_a_crash(client, db, token, field):
    document = body(contact={"email": "a@example.vn", "phone": "0912345678"})
    raw = json.dumps(document)
    original = document["contact"][field.split(".")[1]] if "." in field else document[field]
    raw = raw.replace(json.dumps(original), json.dumps(original)[:-1] + '\\ud800"', 1)
    response = client.post(
        "/api/v1/dossiers", data=raw, content_type="application/json", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 422 and response.json["error"]["field"] == field
    assert count(Dossier) == 0


def test_other_methods_are_405_with_allow(client, db):
    response = client.get("/api/v1/dossiers")
    assert response.status_code == 405 and "POST" in response.headers["Allow"]
    assert "POST" in client.put("/api/v1/dossiers/batch").headers["Allow"]


def test_errors_are_in_the_requesters_language(client, db, token):
    english = post(client, body(unit="nowhere"), token, **{"Accept-Language": "en"})
    vietnamese = post(client, body(unit="nowhere"), token, **{"Accept-Language": "vi"})
    assert english.json["error"]["message"] == "This office is not in the list of units."
    assert not vietnamese.json["error"]["message"].isascii()


# --- delivery ----------------------------------------------------------------------------------


@pytest.fixture()
def deliveries(monkeypatch):
    """Calls of ``webapp.delivery.request_delivery``, recorded instead of queued."""
    import webapp.delivery

    calls: list[dict] = []

    def record(token_row, *, survey_url, code, contact, channels):
        calls.append(
            {
                "token_id": token_row.id,
                "survey_url": survey_url,
                "code": code,
                "contact": dict(contact),
                "channels": list(channels),
            }
        )
        return []

    monkeypatch.setattr(webapp.delivery, "request_delivery", record)
    return calls


def test_a_new_dossier_asks_for_delivery_once_and_a_repeat_sends_nothing(client, db, token, deliveries):
    document = body(contact={"phone": "0912 345 678", "email": "a@example.vn"}, deliver=["sms", "email"])
    first = post(client, document, token)
    assert first.status_code == 201
    assert deliveries == [
        {
            "token_id": db.session.scalars(select(ReceiptToken.id)).one(),
            "survey_url": first.json["survey_url"],
            "code": first.json["code"],
            "contact": {"phone": "+84912345678", "email": "a@example.vn"},
            "channels": ["sms", "email"],
        }
    ]
    assert post(client, document, token).status_code == 200
    assert len(deliveries) == 1


def test_a_contact_without_deliver_sends_nothing(client, db, token, deliveries):
    assert post(client, body(contact={"phone": "0912345678"}), token).status_code == 201
    assert deliveries == []


def test_a_failing_delivery_never_loses_the_dossier(client, db, token, monkeypatch):
    import webapp.delivery

    def broken(*args, **kwargs):
        raise RuntimeError("gateway down")

    monkeypatch.setattr(webapp.delivery, "request_delivery", broken)
    response = post(client, body(contact={"phone": "0912345678"}, deliver=["sms"]), token)
    assert response.status_code == 201 and count(Dossier) == 1


# --- audit ---------------------------------------------------------------------------------------


def test_every_call_is_audited_without_the_number_or_the_contact(client, db, make_client):
    issuer, token = make_client()
    post(client, body(contact={"phone": "0912345678"}), token)
    post(client, body(), token)
    post(client, body(unit="n03688"), token)
    post(client, body(), "wrong-token")
    db.session.rollback()
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "integration.call").order_by(AuditEvent.id)
    ).all()
    assert [event.after["outcome"] for event in events] == ["created", "existing", "refused:out_of_scope"]
    assert all(event.object_id == issuer.client_id and event.after["unit"] for event in events)
    assert events[0].after["service"] == SERVICE
    refused = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "integration.refused_token")).all()
    assert len(refused) == 1
    text = json.dumps([[e.after, e.detail] for e in db.session.scalars(select(AuditEvent))], ensure_ascii=False)
    assert NUMBER not in text and "912345678" not in text and token not in text


# --- batch -------------------------------------------------------------------------------------


def test_a_batch_answers_one_result_per_dossier_and_a_bad_one_blocks_nothing(client, db, token):
    post(client, body(dossier_number="HS-0"), token)
    dossiers = [body(dossier_number=f"HS-{i}") for i in range(5)]
    dossiers[2] = body(dossier_number="HS-2", unit="nowhere")
    dossiers.append("not an object")
    dossiers.append(body(dossier_number="HS-1"))
    response = post(client, {"dossiers": dossiers}, token, path="/api/v1/dossiers/batch")
    assert response.status_code == 200, response.json
    results = response.json["results"]
    assert [r["index"] for r in results] == list(range(7))
    assert [r["status"] for r in results] == [200, 201, 422, 201, 201, 422, 200]
    assert results[2]["error"]["field"] == "unit"
    assert results[6]["code"] == results[1]["code"]
    assert {"survey_url", "code", "expires_on"} <= set(results[0])
    assert count(Dossier) == 4
    single = post(client, body(dossier_number="HS-3"), token)
    assert single.status_code == 200 and single.json["code"] == results[3]["code"]


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"dossiers": [{}] * 501}, "dossiers"),
        ({"dossiers": {"0": {}}}, "dossiers"),
        ({}, "dossiers"),
        ([], "dossiers"),
        ({"dossiers": [], "extra": 1}, "extra"),
    ],
)
def test_a_batch_that_is_too_long_or_not_a_list_is_422(client, db, token, document, field):
    response = post(client, document, token, path="/api/v1/dossiers/batch")
    assert response.status_code == 422
    assert response.json["error"]["field"] == field


def test_a_batch_of_500_is_accepted(client, db, token):
    dossiers = [body(dossier_number=f"HS-{i:04}") for i in range(500)]
    response = post(client, {"dossiers": dossiers}, token, path="/api/v1/dossiers/batch")
    assert response.status_code == 200
    assert [r["status"] for r in response.json["results"]] == [201] * 500
    assert len({r["code"] for r in response.json["results"]}) == 500
    assert count(Dossier) == 500


def test_a_batch_needs_a_token_too(client, db, token):
    response = post(client, {"dossiers": [body()]}, None, path="/api/v1/dossiers/batch")
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")


def test_clients_are_rate_limited(app, client, db, token):
    app.config["INTEGRATION_RATE_LIMIT"] = "3/minute"
    try:
        statuses = [post(client, body(dossier_number=f"HS-{i}"), token).status_code for i in range(4)]
    finally:
        app.config["INTEGRATION_RATE_LIMIT"] = "600/minute"
        limiter.reset()
    assert statuses == [201, 201, 201, 429]


def test_no_dossier_number_contact_or_token_reaches_the_logs(client, db, token, caplog, capsys):
    import logging

    caplog.set_level(logging.DEBUG)
    document = body(contact={"phone": "0912 345 678", "email": "nguyen.van.a@example.vn"}, deliver=["sms", "email"])
    assert post(client, document, token).status_code == 201
    assert post(client, body(contact={"phone": "0987654321"}, unit="n03688"), token).status_code == 403
    captured = caplog.text + "".join(capsys.readouterr())
    assert "/api/v1/dossiers" in captured, "the request log is captured"
    for secret in (NUMBER, "912 345 678", "912345678", "987654321", "nguyen.van.a", token):
        assert secret not in captured, secret
