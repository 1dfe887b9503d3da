"""Integrity of the submission path (issue #12, findings 1 and 2; late ratings).

Each channel has one honest path: the JSON endpoint is for kiosks with a device key only; the
server decides the channel and the time; a kiosk may date queued ratings back only to its last
contact with the server, and never faster than a counter serves people; ratings that arrive
for a published period are marked late and change nothing until a revision says so.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from surveys.submission import IMPLAUSIBLE_LIMIT, SOURCE_LIMIT, Submission, submit_response
from tests.conftest import complete_online_answers, csrf_from
from webapp.models import AuditEvent, PublishedSnapshot, Response
from webapp.periods import Period


def _count(db, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Response).where(*where))


def _post(client, body, key=None, **headers):
    if key is not None:
        headers["X-Device-Key"] = key
    return client.post("/api/v1/responses", json=body, headers=headers)


def _publish_marker(db, label: str) -> None:
    """Mark ``label`` as published (the late rule only asks whether a snapshot exists)."""
    db.session.add(
        PublishedSnapshot(
            period=label,
            revision=1,
            published_by="test",
            methodology_version="test",
            instrument_versions={},
            input_hashes={},
            summary={},
        )
    )
    db.session.commit()


def test_finding_01_no_device_key_is_refused_even_with_a_csrf_token(client, db, registry, kiosk_body):
    """A CSRF token from one GET of a survey page no longer opens a back door for any channel."""
    page = client.get("/survey/sl-ttpvhcc/admin-procedure?service=land")
    assert page.status_code == 200
    headers = {"X-CSRFToken": csrf_from(page)}
    old = (datetime.now(UTC) - timedelta(days=120)).isoformat()
    for channel in ("paper", "online", "qr", "kiosk"):
        body = kiosk_body(channel=channel, answered_at=old, respondent_type="business", duration_seconds=3000)
        response = _post(client, body, **headers)
        assert response.status_code == 401, (channel, response.json)
        assert response.json["error"]["field"] == "X-Device-Key"
    assert _count(db) == 0
    # The attempt is recorded for the integrity page, once per address per 10 minutes.
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "integrity.refused_submission")).all()
    assert len(events) == 1 and events[0].object_id == "sl-ttpvhcc"


def test_finding_01_the_server_decides_the_channel(client, db, make_device, kiosk_body):
    _, key = make_device()
    response = _post(client, kiosk_body(channel="paper"), key)
    assert response.status_code == 422
    assert response.json["error"]["field"] == "channel"
    without = kiosk_body()
    del without["channel"]
    assert _post(client, without, key).status_code == 201
    assert db.session.scalar(select(Response.channel)) == "kiosk"


def _online_submission(db, answered_at=None, source_address=None, rating=4) -> Submission:
    """A complete online answer to the land service's questionnaire (every required item)."""
    instrument, answers = complete_online_answers("land", rating)
    return Submission(
        client_id=uuid.uuid4(),
        instrument_code=instrument,
        unit_code="sl-ttpvhcc",
        service_code="land",
        channel="online",
        answers=answers,
        answered_at=answered_at,
        source_address=source_address,
    )


def test_finding_01_online_ratings_take_the_server_time(app, db, registry):
    """Even a caller of the service cannot date an online rating: the server's clock decides."""
    claimed = datetime.now(UTC) - timedelta(days=90)
    with app.test_request_context():
        result = submit_response(_online_submission(db, answered_at=claimed))
    row = db.session.get(Response, result.response_id)
    assert abs((row.answered_at - datetime.now(UTC)).total_seconds()) < 60
    assert row.period == Period.quarter_of(datetime.now(UTC)).label


def test_finding_02_kiosk_cannot_backdate_into_a_published_quarter(client, db, make_device, kiosk_body):
    """A kiosk key sending every 15 s with answer times spaced 15 s apart inside a published quarter."""
    now = datetime.now(UTC)
    previous = Period.quarter_of(now).previous()
    _publish_marker(db, previous.label)
    # The kiosk was approved yesterday: nothing it sends can be older than that.
    _, key = make_device(since=now - timedelta(days=1))
    start = datetime.combine(previous.start, datetime.min.time(), tzinfo=UTC) + timedelta(days=20, hours=3)
    for i in range(40):
        stamp = (start + timedelta(seconds=15 * i)).isoformat()
        assert _post(client, kiosk_body(answered_at=stamp), key).status_code == 201
    assert _count(db) == 40
    assert _count(db, Response.status == "valid") == 0
    assert _count(db, Response.period == previous.label) == 0, "a backdated rating is dated at the kiosk's floor"
    flags = {f for r in db.session.scalars(select(Response)) for f in r.quality_flags}
    assert "backdated" in flags


def test_finding_02_rate_plausibility_uses_the_servers_floor_not_the_client_clock(client, db, make_device, kiosk_body):
    """An old kiosk, silent for a week, then one rating every 15 s of claimed time: at most a counter's pace counts."""
    now = datetime.now(UTC)
    device, key = make_device(since=now - timedelta(days=200))
    device.last_seen_at = now - timedelta(days=7)
    db.session.commit()
    start = now - timedelta(days=3)
    for i in range(60):
        stamp = (start + timedelta(seconds=15 * i)).isoformat()
        assert _post(client, kiosk_body(answered_at=stamp), key).status_code == 201
    valid = _count(db, Response.status == "valid")
    assert valid <= IMPLAUSIBLE_LIMIT, valid
    flags = {
        f for r in db.session.scalars(select(Response).where(Response.status == "flagged")) for f in r.quality_flags
    }
    assert "implausible_rate" in flags
    # Sent from before the kiosk's last contact (a week ago): flagged as backdated.
    before = (now - timedelta(days=8)).isoformat()
    assert _post(client, kiosk_body(answered_at=before), key).status_code == 201
    newest = db.session.scalar(select(Response).order_by(Response.id.desc()))
    assert newest.status == "flagged" and "backdated" in newest.quality_flags


def test_sending_the_newest_rating_first_does_not_hide_a_burst(client, db, make_device, kiosk_body):
    _, key = make_device()
    start = datetime.now(UTC) - timedelta(hours=2)
    for i in reversed(range(60)):
        assert (
            _post(client, kiosk_body(answered_at=(start + timedelta(seconds=15 * i)).isoformat()), key).status_code
            == 201
        )
    assert _count(db, Response.status == "valid") <= IMPLAUSIBLE_LIMIT


def test_a_counter_pace_of_ratings_is_accepted(client, db, make_device, kiosk_body):
    """One citizen every two minutes all morning is what a busy counter does: all counted."""
    now = datetime.now(UTC)
    _, key = make_device()
    start = now - timedelta(hours=3)
    for i in range(60):
        assert (
            _post(client, kiosk_body(answered_at=(start + timedelta(minutes=2 * i + 1)).isoformat()), key).status_code
            == 201
        )
    assert _count(db, Response.status == "valid") == 60


def test_kiosk_ratings_outside_opening_hours_are_flagged(app, client, db, make_device, kiosk_body, monkeypatch):
    monkeypatch.setitem(app.config, "KIOSK_OPENING_HOURS", (6, 20))
    _, key = make_device()
    day = (datetime.now(UTC) - timedelta(days=2)).date()
    night = datetime(day.year, day.month, day.day, 19, 30, tzinfo=UTC)  # 02:30 in Sơn La
    noon = datetime(day.year, day.month, day.day, 3, 0, tzinfo=UTC)  # 10:00 in Sơn La
    assert _post(client, kiosk_body(answered_at=night.isoformat()), key).status_code == 201
    assert _post(client, kiosk_body(answered_at=noon.isoformat()), key).status_code == 201
    rows = {r.answered_at.hour: r for r in db.session.scalars(select(Response))}
    assert rows[19].status == "flagged" and rows[19].quality_flags == ["outside_hours"]
    assert rows[3].status == "valid"


def test_many_online_ratings_from_one_address_are_flagged(app, db, registry):
    with app.test_request_context():
        for _ in range(SOURCE_LIMIT + 3):
            submit_response(_online_submission(db, source_address="203.0.113.9"))
        submit_response(_online_submission(db, source_address="203.0.113.10"))
    assert _count(db, Response.status == "valid") == SOURCE_LIMIT + 1
    flagged = db.session.scalars(select(Response).where(Response.status == "flagged")).all()
    assert len(flagged) == 3 and all(r.quality_flags == ["same_source"] for r in flagged)
    digests = {r.source_digest for r in db.session.scalars(select(Response))}
    assert len(digests) == 2 and all(d and "203.0.113" not in d for d in digests), "only a keyed hash is stored"


def test_ratings_for_a_published_quarter_are_marked_late(client, db, make_device, kiosk_body):
    now = datetime.now(UTC)
    previous = Period.quarter_of(now).previous()
    # A kiosk offline since before the end of the previous quarter sends its queue now.
    device, key = make_device(since=now - timedelta(days=200))
    device.last_seen_at = datetime.combine(previous.end, datetime.min.time(), tzinfo=UTC) - timedelta(days=2)
    db.session.commit()
    queued = (datetime.combine(previous.end, datetime.min.time(), tzinfo=UTC) - timedelta(days=1)).isoformat()
    assert _post(client, kiosk_body(answered_at=queued), key).status_code == 201
    _publish_marker(db, previous.label)
    assert _post(client, kiosk_body(answered_at=queued, client_id=str(uuid.uuid4())), key).status_code == 201
    rows = db.session.scalars(select(Response).order_by(Response.id)).all()
    assert [r.period for r in rows] == [previous.label] * 2
    assert [r.late for r in rows] == [False, True]
    assert all(r.status == "valid" for r in rows), "a late rating is not suspicious in itself"


def test_a_kiosk_that_keeps_in_touch_cannot_keep_an_old_floor(client, db, make_device, kiosk_body):
    """Review attack: touching the kiosk page every 4 minutes must not keep the approval date as the floor."""
    from surveys.submission import touch_device

    now = datetime.now(UTC)
    device, key = make_device(since=now - timedelta(days=150))
    moment = now - timedelta(hours=2)
    while moment < now:
        touch_device(device, moment)
        db.session.commit()
        moment += timedelta(minutes=4)
    last_quarter = Period.quarter_of(now).previous()
    inside = datetime.combine(last_quarter.start, datetime.min.time(), tzinfo=UTC) + timedelta(days=10, hours=3)
    for i in range(20):
        stamp = (inside + timedelta(minutes=30 * i)).isoformat()
        assert _post(client, kiosk_body(answered_at=stamp), key).status_code == 201
    assert _count(db, Response.status == "valid") == 0
    assert _count(db, Response.period == last_quarter.label) == 0


def test_clusters_every_quarter_hour_are_flagged(app, db, make_device):
    """Review attack: 15 ratings 10 s apart every 15 minutes, in time order, is twice a counter's pace."""
    device, _ = make_device()
    start = datetime.now(UTC) - timedelta(hours=5)
    with app.test_request_context():
        for cluster in range(16):
            for i in range(15):
                stamp = start + timedelta(minutes=15 * cluster, seconds=10 * i)
                submit_response(
                    Submission(
                        client_id=uuid.uuid4(),
                        instrument_code="counter-quick",
                        unit_code="sl-ttpvhcc",
                        service_code="land",
                        channel="kiosk",
                        answers={"overall": 3},
                        answered_at=stamp,
                        device=device,
                    ),
                    now=datetime.now(UTC),
                )
    assert _count(db) == 240
    valid = _count(db, Response.status == "valid")
    # A two-minute pace would allow about 150 in these 4 hours; the clusters must not get near 240.
    assert valid <= 80, valid
