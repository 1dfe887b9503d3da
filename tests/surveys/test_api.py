"""POST /api/v1/responses: stored exactly once, whatever the network does; bad input stores nothing."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from webapp.models import Response, ResponseScore


def count(db, model=Response) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def post(client, body, key=None, **headers):
    if key is not None:
        headers["X-Device-Key"] = key
    return client.post("/api/v1/responses", json=body, headers=headers)


def test_new_response_is_created_once_and_a_retry_gets_the_same_id(client, db, make_device, kiosk_body):
    device, key = make_device()
    body = kiosk_body(instrument_version=2, answers={"overall": 5})
    first = post(client, body, key)
    assert first.status_code == 201, first.json
    again = post(client, body, key)
    assert again.status_code == 200
    assert again.json["id"] == first.json["id"]
    assert count(db) == 1
    stored = db.session.get(Response, first.json["id"])
    assert stored.channel == "kiosk" and stored.device_id == device.id and stored.kiosk_rating == 5
    assert (stored.instrument.code, stored.instrument.version) == ("counter-quick", 2)
    assert stored.answers["went_well"] == ["on_time", "staff_attitude"]
    assert stored.status == "valid"
    assert (
        db.session.scalar(
            select(ResponseScore.satisfied).where(
                ResponseScore.response_id == stored.id, ResponseScore.metric == "sat-agencies"
            )
        )
        == 1
    )


def test_fifty_parallel_submissions_with_one_client_id_store_one_row(app, client, db, make_device, kiosk_body):
    _, key = make_device()
    body = kiosk_body()
    barrier = threading.Barrier(50)
    results: list[tuple[int, int]] = []
    lock = threading.Lock()

    def send():
        local = app.test_client()
        barrier.wait()
        response = post(local, body, key)
        with lock:
            results.append((response.status_code, (response.json or {}).get("id")))

    threads = [threading.Thread(target=send) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 50
    statuses = sorted(status for status, _ in results)
    assert statuses.count(201) == 1 and statuses.count(200) == 49, statuses
    assert len({response_id for _, response_id in results}) == 1
    assert count(db) == 1
    assert count(db, ResponseScore) == 1


@pytest.mark.parametrize(("overall", "satisfied"), [(1, 0), (2, 0), (3, 0), (4, 1), (5, 1)])
def test_the_five_faces_are_accepted_and_scored_top_two_box(client, db, make_device, kiosk_body, overall, satisfied):
    """Without a version the kiosk answers the active (five-face) counter-quick: 4 and 5 are satisfied."""
    _, key = make_device()
    response = post(client, kiosk_body(answers={"overall": overall}, reasons=[]), key)
    assert response.status_code == 201, response.json
    stored = db.session.get(Response, response.json["id"])
    assert stored.kiosk_rating == overall and stored.instrument.version == 2
    scores = db.session.execute(
        select(ResponseScore.metric, ResponseScore.satisfied).where(ResponseScore.response_id == stored.id)
    ).all()
    assert [tuple(row) for row in scores] == [("sat-agencies", satisfied)]


@pytest.mark.parametrize("overall", [0, 6, -1, 55])
def test_ratings_outside_one_to_five_are_refused(client, db, make_device, kiosk_body, overall):
    _, key = make_device()
    response = post(client, kiosk_body(answers={"overall": overall}, reasons=[]), key, **{"Accept-Language": "en"})
    assert response.status_code == 422
    assert response.json["error"]["field"] == "answers.overall" and response.json["error"]["code"] == "invalid_choice"
    assert response.json["error"]["message"] == "Choose one of the answers offered."
    assert count(db) == 0


def test_a_three_face_rating_keeps_its_own_series(client, db, make_device, kiosk_body):
    """A rating sent for version 1 (three faces) still counts, in sat-agencies-3face only."""
    _, key = make_device()
    response = post(client, kiosk_body(instrument_version=1, answers={"overall": 2}), key)
    assert response.status_code == 201, response.json
    stored = db.session.get(Response, response.json["id"])
    assert stored.kiosk_rating == 2 and stored.answers["went_well"] == ["on_time", "staff_attitude"]
    scores = db.session.execute(
        select(ResponseScore.metric, ResponseScore.satisfied).where(ResponseScore.response_id == stored.id)
    ).all()
    assert [tuple(row) for row in scores] == [("sat-agencies-3face", 1)]


def test_a_neutral_face_files_reasons_under_what_went_badly(client, db, make_device, kiosk_body):
    _, key = make_device()
    response = post(client, kiosk_body(answers={"overall": 3}, reasons=["clear_guidance"]), key)
    assert response.status_code == 201
    stored = db.session.get(Response, response.json["id"])
    assert stored.answers["went_badly"] == ["clear_guidance"] and "went_well" not in stored.answers


def test_negative_rating_files_reasons_under_what_went_badly(client, db, make_device, kiosk_body):
    _, key = make_device()
    response = post(client, kiosk_body(answers={"overall": 1}, reasons=["single_trip"]), key)
    assert response.status_code == 201
    stored = db.session.get(Response, response.json["id"])
    assert stored.answers["went_badly"] == ["single_trip"] and "went_well" not in stored.answers


def test_answer_time_sets_the_quarter_in_vietnam_time(client, db, make_device, kiosk_body):
    _, key = make_device()
    # 30 June 2026, 23:30 in Hà Nội is still Q2 … but 1 July 00:30 there is Q3.
    late = datetime(2026, 6, 30, 17, 30, tzinfo=UTC)
    now = datetime.now(UTC)
    if now - late > timedelta(days=170):
        late = now - timedelta(days=1)
    response = post(client, kiosk_body(answered_at=late.isoformat()), key)
    assert response.status_code == 201
    from webapp.periods import Period

    assert db.session.get(Response, response.json["id"]).period == Period.quarter_of(late).label


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"client_id": "not-a-uuid"}, "client_id", "invalid_uuid"),
        ({"client_id": None}, "client_id", "missing"),
        ({"instrument": "nope"}, "instrument", "unknown_instrument"),
        ({"unit": "nope"}, "unit", "unknown_unit"),
        ({"unit": "d116"}, "unit", "unit_not_valid_then"),
        ({"service": "outpatient"}, "service", "not_offered"),
        ({"service": "nope"}, "service", "unknown_service"),
        ({"answers": {"overall": 0}}, "answers.overall", "invalid_choice"),
        ({"answers": {"overall": 6}}, "answers.overall", "invalid_choice"),
        ({"instrument_version": 1, "answers": {"overall": 4}}, "answers.overall", "invalid_choice"),
        ({"answers": {"overall": True}}, "answers.overall", "invalid_type"),
        ({"answers": {}}, "answers.overall", "required"),
        ({"answers": {"overall": 2, "name": "Nguyễn Văn A"}}, "answers.name", "unknown_item"),
        ({"answers": []}, "answers", "invalid_type"),
        ({"reasons": ["bribe"]}, "reasons", "invalid_choice"),
        ({"reasons": "on_time"}, "reasons", "invalid_type"),
        ({"answered_at": "yesterday"}, "answered_at", "invalid_date"),
        ({"answered_at": "2026-07-01T09:00:00"}, "answered_at", "timezone_required"),
        ({"answered_at": "2099-01-01T00:00:00+07:00"}, "answered_at", "in_future"),
        ({"answered_at": "2001-01-01T00:00:00+07:00"}, "answered_at", "too_old"),
        ({"duration_seconds": -3}, "duration_seconds", "out_of_range"),
        ({"channel": "fax"}, "channel", "invalid_choice"),
        ({"phone": "0912345678"}, "phone", "unknown_field"),
        ({"instrument": "admin-procedure"}, "channel", "not_for_instrument"),
    ],
)
def test_invalid_bodies_name_the_field_and_store_nothing(client, db, make_device, kiosk_body, change, field, code):
    _, key = make_device()
    body = kiosk_body()
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    response = post(client, body, key)
    assert 400 <= response.status_code < 500, response.json
    codes = {(e["field"], e["code"]) for e in response.json["errors"]}
    assert (field, code) in codes, codes
    assert response.json["error"]["message"]
    assert count(db) == 0


def test_errors_are_in_the_requesters_language(client, db, make_device, kiosk_body):
    _, key = make_device()
    english = post(
        client.__class__(client.application), kiosk_body(answers={"overall": 9}), key, **{"Accept-Language": "en"}
    )
    assert english.json["errors"][-1]["message"] == "Choose one of the answers offered."


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"\xff\xfe\x00", "application/json", 400),
        (b"[1, 2]", "application/json", 422),
        (b"client_id=1", "application/x-www-form-urlencoded", 415),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", 413),
        (b'{"client_id": "' + b"a" * 70_000 + b'"}', "application/json", 413),
        (("[" * 5000 + "]" * 5000).encode(), "application/json", 400),
        (b'{"client_id": "\\u0000"}', "application/json", 422),
        (b'{"duration_seconds": 1e400}', "application/json", 422),
    ],
)
def test_broken_bodies_get_4xx_and_store_nothing(client, db, make_device, data, content_type, status):
    _, key = make_device()
    response = client.post("/api/v1/responses", data=data, content_type=content_type, headers={"X-Device-Key": key})
    assert response.status_code == status
    assert count(db) == 0


def test_unknown_and_revoked_device_keys_are_refused(client, db, make_device, kiosk_body):
    from surveys.devices import revoke_device

    device, key = make_device()
    assert post(client, kiosk_body(), "forged-key").status_code == 403
    revoke_device(device)
    db.session.commit()
    response = post(client, kiosk_body(), key)
    assert response.status_code == 403 and response.json["error"]["field"] == "X-Device-Key"
    assert count(db) == 0


def test_a_kiosk_can_only_rate_its_own_unit(client, db, make_device, kiosk_body):
    from webapp.models import Unit

    _, key = make_device("sl-ttpvhcc")
    commune = db.session.scalar(select(Unit).where(Unit.kind == "commune", Unit.valid_to.is_(None)))
    response = post(client, kiosk_body(unit=commune.code, service="civil-status"), key)
    assert response.status_code == 422
    assert ("unit", "not_this_device") in {(e["field"], e["code"]) for e in response.json["errors"]}


def test_bursts_are_flagged_not_deleted(client, db, make_device, kiosk_body):
    from surveys.submission import BURST_LIMIT

    _, key = make_device()
    moment = datetime.now(UTC) - timedelta(minutes=5)
    for second in range(BURST_LIMIT + 2):
        stamp = (moment + timedelta(seconds=second)).isoformat()
        assert post(client, kiosk_body(answered_at=stamp, answers={"overall": 1}, reasons=[]), key).status_code == 201
    statuses = [r.status for r in db.session.scalars(select(Response).order_by(Response.answered_at))]
    assert statuses[:BURST_LIMIT] == ["valid"] * BURST_LIMIT
    assert set(statuses[BURST_LIMIT:]) == {"flagged"}
    flagged = db.session.scalars(select(Response).where(Response.status == "flagged")).all()
    assert len(flagged) == 2
    assert all(r.quality_flags == ["burst"] for r in flagged)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
field_names = st.sampled_from(
    [
        "client_id",
        "instrument",
        "unit",
        "service",
        "channel",
        "answers",
        "reasons",
        "answered_at",
        "duration_seconds",
        "token",
        "respondent_type",
    ]
) | st.text(max_size=8)


@pytest.fixture()
def device_key(make_device):
    return make_device()[1]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.dictionaries(field_names, json_values, max_size=8) | json_values)
def test_arbitrary_json_never_500_and_never_stores(client, db, device_key, body):
    """Hypothesis: arbitrary JSON documents are answered 4xx and store nothing."""
    before = count(db)
    response = post(client, body, device_key)
    assert response.status_code < 500
    if response.status_code >= 400:
        assert count(db) == before
        assert "error" in response.json


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=field_names, value=json_values)
def test_one_bad_field_in_a_valid_body_never_500_and_never_stores(client, db, device_key, kiosk_body, field, value):
    """Hypothesis: a valid kiosk body with one field replaced reaches deep validation safely."""
    body = kiosk_body()
    body[field] = value
    before = count(db)
    response = post(client, body, device_key)
    assert response.status_code < 500
    if response.status_code >= 400:
        assert count(db) == before
    else:
        assert count(db) == before + (1 if response.status_code == 201 else 0)
