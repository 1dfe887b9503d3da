"""A scripted stuffing attempt against one unit, then a routine republication (issue #12, "Done when").

The attacker is the unit itself: with a CSRF token from a survey page it posts ratings without a
kiosk key, uses its own approved kiosk to send "very satisfied" every 15 seconds backdated into
the quarter already published, and mints 200 receipt codes for dossiers that do not exist. After
a republication with a reason, the unit's published n may move by at most 5% of the attempts,
the revision says how many late ratings it added, and the integrity page lists the attempt.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from tests.conftest import csrf_from
from webapp.models import AuditEvent, PublishedEstimate, PublishedSnapshot, ReceiptToken
from webapp.periods import VIETNAM, Period

UNIT = "sl-ttpvhcc"


def _published_n(db, period: str) -> int:
    db.session.expire_all()
    snapshot = db.session.scalar(
        select(PublishedSnapshot)
        .where(PublishedSnapshot.period == period)
        .order_by(PublishedSnapshot.revision.desc())
        .limit(1)
    )
    return db.session.scalar(
        select(PublishedEstimate.n).where(
            PublishedEstimate.snapshot_id == snapshot.id,
            PublishedEstimate.metric == "sat-agencies",
            PublishedEstimate.domain_type == "unit",
            PublishedEstimate.domain == UNIT,
        )
    )


@pytest.fixture()
def published_quarter(client, db, make_device, kiosk_body):
    """The previous quarter with 60 genuine kiosk ratings, published; the kiosk last spoke at its end."""
    from webapp.publishing.publish import publish_period

    now = datetime.now(UTC)
    quarter = Period.quarter_of(now).previous()
    device, key = make_device(UNIT, since=now - timedelta(days=400))
    first_day = datetime.combine(quarter.start, time(9, 0), tzinfo=VIETNAM)
    for i in range(60):
        stamp = first_day + timedelta(days=i % 80, minutes=7 * i)
        assert (
            client.post(
                "/api/v1/responses",
                json=kiosk_body(answered_at=stamp.isoformat(), answers={"overall": 2 + i % 2}),
                headers={"X-Device-Key": key},
            ).status_code
            == 201
        )
    # As if it had synced in real time: its last contact was on the last afternoon of the quarter.
    last_contact = datetime.combine(quarter.end, time(16, 0), tzinfo=VIETNAM)
    device.last_seen_at = device.contact_floor_at = last_contact
    db.session.commit()
    publish_period(quarter.label, now=now)
    return quarter, device, key


def test_stuffing_attempt_moves_the_published_n_by_at_most_five_percent(
    client, db, app, published_quarter, kiosk_body, make_user, sign_in
):
    from webapp.publishing.publish import publish_period

    quarter, device, key = published_quarter
    before = _published_n(db, quarter.label)
    assert before == 60
    attempts = 0

    # 1. No-key posts with a CSRF token from one GET of a survey page, backdated into the quarter.
    page = client.get(f"/survey/{UNIT}/admin-procedure?service=land")
    token = csrf_from(page)
    inside = datetime.combine(quarter.start, time(10, 0), tzinfo=VIETNAM) + timedelta(days=30)
    for i in range(120):
        body = kiosk_body(
            channel="paper", answered_at=(inside + timedelta(minutes=i)).isoformat(), answers={"overall": 3}
        )
        assert client.post("/api/v1/responses", json=body, headers={"X-CSRFToken": token}).status_code == 401
        attempts += 1

    # 2. The unit's own kiosk, "very satisfied" every 15 s, answer times 15 s apart inside the quarter.
    for i in range(160):
        body = kiosk_body(answered_at=(inside + timedelta(seconds=15 * i)).isoformat(), answers={"overall": 3})
        # Sent in a burst here (a real attacker spaces them 15 s apart): the device's limit may also answer 429.
        assert client.post("/api/v1/responses", json=body, headers={"X-Device-Key": key}).status_code in (201, 429)
        attempts += 1

    # 3. 200 self-minted receipt codes for dossiers that do not exist.
    manager = make_user("agency_manager", UNIT)
    staff = sign_in(manager, app.test_client())
    devices_page = staff.get(f"/agency/units/{UNIT}/devices")
    for sheet in range(4):
        cases = "\n".join(f"FAKE-{sheet}-{i:03d}" for i in range(50))
        refused = staff.post(
            f"/agency/units/{UNIT}/receipts",
            data={"csrf_token": csrf_from(devices_page), "service": "land", "cases": cases},
        )
        assert 400 <= refused.status_code < 500
        attempts += 50
    minted = db.session.scalar(select(ReceiptToken.id).limit(1))
    assert minted is None, "no receipt code without counted dossiers"
    refusals = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "integrity.receipts_refused")).all()
    assert [e.object_id for e in refusals] == [UNIT] * 4

    # A routine republication with a reason.
    publish_period(quarter.label, reason="Routine quarterly check", now=datetime.now(UTC))
    after = _published_n(db, quarter.label)
    assert abs(after - before) <= 0.05 * attempts, (before, after, attempts)

    snapshot = db.session.scalar(
        select(PublishedSnapshot).where(PublishedSnapshot.period == quarter.label, PublishedSnapshot.revision == 2)
    )
    assert snapshot.summary["added"]["late_total"] == after - before

    # The integrity page lists the attempt.
    admin = make_user("admin")
    admin_http = sign_in(admin, app.test_client())
    integrity = admin_http.get(f"/admin/integrity?period={quarter.label}&lang=en")
    assert integrity.status_code == 200
    html = integrity.get_data(as_text=True)
    assert UNIT in html
    assert "last contact" in html and "Refused attempts" in html


def test_late_ratings_enter_only_through_a_revision_that_counts_them(client, db, published_quarter, kiosk_body):
    from webapp.publishing.publish import publish_period

    quarter, device, key = published_quarter
    # Genuine late ratings: the kiosk's queue from the last hour of the quarter, after its last contact.
    late_start = datetime.combine(quarter.end, time(16, 30), tzinfo=VIETNAM)
    for i in range(5):
        body = kiosk_body(answered_at=(late_start + timedelta(minutes=5 * i)).isoformat())
        assert client.post("/api/v1/responses", json=body, headers={"X-Device-Key": key}).status_code == 201
    assert _published_n(db, quarter.label) == 60, "a late rating never changes a published figure by itself"
    publish_period(quarter.label, reason="Late kiosk queue", now=datetime.now(UTC))
    assert _published_n(db, quarter.label) == 65
    snapshot = db.session.scalar(
        select(PublishedSnapshot).where(PublishedSnapshot.period == quarter.label, PublishedSnapshot.revision == 2)
    )
    assert snapshot.summary["added"] == {"late": {"kiosk": 5}, "late_total": 5, "reinstated": 0}
    page = client.get("/methodology?lang=en").get_data(as_text=True)
    assert "It includes 5 late ratings" in page and "Kiosk at the counter 5" in page
