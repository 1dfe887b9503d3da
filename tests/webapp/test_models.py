"""Database constraints hold the invariants, on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.exc import IntegrityError

from webapp.models import Instrument, Response, Service, TransactionCount, Unit, User


@pytest.fixture()
def basics(db):
    province = Unit(
        code="sl",
        name_vi="Tỉnh Sơn La",
        name_en="Sơn La province",
        kind="province",
        sector="admin",
        path="/sl/",
        valid_from=date(2008, 1, 1),
    )
    commune = Unit(
        code="c1",
        name_vi="Xã Một",
        name_en="Một commune",
        kind="commune",
        sector="admin",
        parent=province,
        path="/sl/c1/",
        valid_from=date(2008, 1, 1),
    )
    service = Service(
        code="land",
        name_vi="Đất đai",
        name_en="Land",
        sector="admin",
        kind="procedure_group",
        instrument_code="admin-procedure",
    )
    instrument = Instrument(code="counter-quick", version=1, content_hash="0" * 64, snapshot={}, sector="admin")
    db.session.add_all([province, commune, service, instrument])
    db.session.commit()
    return commune, service, instrument


def response(commune, service, instrument, **overrides) -> Response:
    values = dict(
        client_id=uuid.uuid4(),
        instrument=instrument,
        unit=commune,
        service=service,
        channel="kiosk",
        respondent_type="citizen",
        period="2026-Q3",
        answered_at=datetime(2026, 8, 1, 3, tzinfo=UTC),
        answers={"overall": 3},
        kiosk_rating=3,
    )
    values.update(overrides)
    return Response(**values)


def test_a_client_id_is_stored_once(db, basics):
    client_id = uuid.uuid4()
    db.session.add(response(*basics, client_id=client_id))
    db.session.commit()
    db.session.add(response(*basics, client_id=client_id))
    with pytest.raises(IntegrityError):
        db.session.commit()


@pytest.mark.parametrize(
    "overrides",
    [
        {"channel": "fax"},
        {"respondent_type": "robot"},
        {"period": "2026-07"},
        {"kiosk_rating": 6},
        {"gender": "female"},  # demographics without consent
        {"consent_demographics": True, "ethnicity_group": "martian"},
        {"items_rated": 2, "items_satisfied": 3},
        {"duration_seconds": -1},
    ],
)
def test_invalid_responses_are_refused_by_the_database(db, basics, overrides):
    db.session.add(response(*basics, **overrides))
    with pytest.raises(IntegrityError):
        db.session.commit()


def test_demographics_are_kept_with_consent(db, basics):
    db.session.add(response(*basics, consent_demographics=True, gender="female", ethnicity_group="thai"))
    db.session.commit()


def test_transaction_counts_are_not_negative_and_unique_per_cell(db, basics):
    commune, service, _ = basics
    db.session.add(TransactionCount(period="2026-Q3", unit=commune, service=service, count=-1))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    db.session.add(TransactionCount(period="2026-Q3", unit=commune, service=service, count=10))
    db.session.add(TransactionCount(period="2026-Q3", unit=commune, service=service, count=11))
    with pytest.raises(IntegrityError):
        db.session.commit()


def test_agency_roles_need_a_unit(db, basics):
    db.session.add(User(email="m@example.org", password_hash="x", role="agency_manager"))
    with pytest.raises(IntegrityError):
        db.session.commit()


def test_unit_validity_must_be_ordered(db):
    db.session.add(
        Unit(
            code="x",
            name_vi="X",
            name_en="X",
            kind="province",
            sector="admin",
            path="/x/",
            valid_from=date(2020, 1, 1),
            valid_to=date(2019, 1, 1),
        )
    )
    with pytest.raises(IntegrityError):
        db.session.commit()


def test_timestamps_come_back_timezone_aware(db, basics):
    db.session.add(response(*basics))
    db.session.commit()
    db.session.expire_all()
    stored = db.session.query(Response).one()
    assert stored.answered_at == datetime(2026, 8, 1, 3, tzinfo=UTC)
    assert stored.answered_at.tzinfo is not None


def test_naive_datetimes_are_refused(db, basics):
    db.session.add(response(*basics, answered_at=datetime(2026, 8, 1, 3)))
    with pytest.raises(Exception, match="naive datetime"):
        db.session.commit()
