"""Integrity signals (issue #12): each fires on planted stuffing and stays quiet on normal data;
reinstating and excluding through the admin page are audited; the CLI prints the summary.

Rows are inserted directly (not through the submission path) so that each test plants exactly
the flags and times it is about, whatever the collection's own checks decide.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.conftest import csrf_from
from tests.pages import check_page
from webapp.integrity.review import REASON_MAX_LENGTH
from webapp.integrity.signals import RATE_JUMP_MIN_RESPONSES, TOP_SHARE_MIN_RATINGS, TOP_SHARE_Z
from webapp.periods import Period

QUARTER = Period.parse("2025-Q3")
#: An ordinary mid-morning moment of the quarter (09:00 in Sơn La).
MOMENT = datetime(2025, 8, 12, 2, 0, tzinfo=UTC)
UNIT = "sl-ttpvhcc"


@pytest.fixture()
def plant(db, registry, unit_by_code):
    """``plant(unit_code, count, **fields)`` inserts ``count`` responses; returns their ids."""
    from webapp.models import Instrument, Response, Service

    instruments = {
        row.version: row for row in db.session.scalars(select(Instrument).where(Instrument.code == "counter-quick"))
    }
    service = db.session.scalar(select(Service).where(Service.code == "land"))

    def add(
        unit_code: str = UNIT,
        count: int = 1,
        *,
        when: datetime = MOMENT,
        channel: str = "kiosk",
        device=None,
        rating: int | list[int] = 2,
        flags: tuple[str, ...] = (),
        late: bool = False,
        digest: str | None = None,
        received: datetime | None = None,
        version: int = 1,
    ) -> list[int]:
        unit = unit_by_code(unit_code)
        instrument = instruments[version]
        rows = []
        for index in range(count):
            value = rating[index % len(rating)] if isinstance(rating, list) else rating
            answered = when + timedelta(minutes=index)
            rows.append(
                Response(
                    client_id=uuid.uuid4(),
                    instrument_id=instrument.id,
                    unit_id=unit.id,
                    service_id=service.id,
                    counter_id=device.counter_id if device else None,
                    device_id=device.id if device else None,
                    channel=channel,
                    period=Period.quarter_of(answered).label,
                    answered_at=answered,
                    received_at=(received or answered) + timedelta(seconds=30),
                    answers={"overall": value},
                    reasons=[],
                    kiosk_rating=value if channel == "kiosk" else None,
                    items_rated=1,
                    items_satisfied=1 if value == 3 else 0,
                    status="flagged" if flags else "valid",
                    quality_flags=list(flags),
                    late=late,
                    source_digest=digest,
                )
            )
        db.session.add_all(rows)
        db.session.commit()
        return [row.id for row in rows]

    return add


def counts(db, unit_code: str, period: str, value: int, unit_by_code) -> None:
    from webapp.models import Service, TransactionCount

    service = db.session.scalar(select(Service).where(Service.code == "land"))
    db.session.add(
        TransactionCount(period=period, unit_id=unit_by_code(unit_code).id, service_id=service.id, count=value)
    )
    db.session.commit()


def signals(period: Period = QUARTER):
    from webapp.integrity.signals import Window, compute_signals

    return compute_signals(Window.for_quarter(period)).signals


def codes(found, unit_code: str = UNIT) -> set[str]:
    return {signal.code for signal in found if signal.unit.code == unit_code}


def test_normal_data_raises_no_signal(db, plant, make_device, unit_by_code):
    device, _ = make_device(UNIT)
    plant(UNIT, 40, device=device, rating=[1, 2, 3])
    plant(UNIT, 10, channel="online", digest="ab" * 16)
    for period in ("2024-Q3", "2024-Q4", "2025-Q1", "2025-Q2", "2025-Q3"):
        counts(db, UNIT, period, 1000, unit_by_code)
    assert signals() == []


def test_flagged_late_and_reinstated_are_counted_by_reason_and_channel(db, plant, make_device):
    device, _ = make_device(UNIT)
    plant(UNIT, 30, device=device)
    plant(UNIT, 4, device=device, flags=("burst",))
    plant(UNIT, 2, channel="online", flags=("too_fast", "same_source"))
    plant(UNIT, 3, channel="paper", late=True)
    found = {signal.code: signal for signal in signals() if signal.unit.code == UNIT}
    flagged = found["flagged_responses"].numbers
    assert flagged["flagged"] == 6 and flagged["responses"] == 39
    assert flagged["by_reason"] == {"burst": 4, "too_fast": 2, "same_source": 2}
    assert flagged["by_channel"] == {"kiosk": 4, "online": 2}
    assert found["late_responses"].numbers == {"late": 3, "by_channel": {"paper": 3}}
    assert found["device_pace"].device_id == device.id and found["device_pace"].numbers["by_flag"] == {"burst": 4}


def test_response_rate_far_above_history(db, plant, unit_by_code):
    other = "n03688"
    for unit_code in (UNIT, other):
        for period, moment in (
            ("2025-Q1", datetime(2025, 2, 3, 2, tzinfo=UTC)),
            ("2025-Q2", datetime(2025, 5, 6, 2, tzinfo=UTC)),
        ):
            counts(db, unit_code, period, 100, unit_by_code)
            plant(unit_code, 5, when=moment, channel="online")
        counts(db, unit_code, QUARTER.label, 100, unit_by_code)
    plant(UNIT, 30, channel="online")  # 0.30 per dossier against 0.05 before: 6 times
    plant(other, 8, channel="online")  # 0.08: ordinary
    found = signals()
    jump = [s for s in found if s.code == "response_rate_jump"]
    assert [s.unit.code for s in jump] == [UNIT]
    assert jump[0].numbers["times"] == 6.0 and jump[0].severity == "high"
    assert "response_rate_jump" not in codes(found, other)


def test_rate_jump_needs_enough_responses(db, plant, unit_by_code):
    for period, moment in (
        ("2025-Q1", datetime(2025, 2, 3, 2, tzinfo=UTC)),
        ("2025-Q2", datetime(2025, 5, 6, 2, tzinfo=UTC)),
    ):
        counts(db, UNIT, period, 100, unit_by_code)
        plant(UNIT, 1, when=moment, channel="online")
    counts(db, UNIT, QUARTER.label, 100, unit_by_code)
    plant(UNIT, RATE_JUMP_MIN_RESPONSES - 1, channel="online")  # 19 times the history, but too few responses
    assert "response_rate_jump" not in codes(signals())


def test_tablet_outside_opening_hours(db, plant, make_device):
    device, _ = make_device(UNIT)
    plant(UNIT, 3, device=device, when=datetime(2025, 8, 12, 16, tzinfo=UTC), flags=("outside_hours",))
    found = [s for s in signals() if s.code == "outside_hours"]
    assert len(found) == 1 and found[0].device_id == device.id and found[0].numbers["count"] == 3


def test_tablet_share_of_top_ratings_far_from_peers(db, plant, make_device):
    stuffed, _ = make_device(UNIT, "Quầy 1")
    honest, _ = make_device(UNIT, "Quầy 2")
    plant(UNIT, 60, device=stuffed, rating=3)
    plant(UNIT, 120, device=honest, rating=[1, 2, 3, 2])  # a quarter of them are the top face
    found = [s for s in signals() if s.code == "top_share_outlier"]
    assert {s.device_id for s in found} == {stuffed.id, honest.id}  # each is far from the other
    mine = next(s for s in found if s.device_id == stuffed.id)
    assert mine.numbers["share"] == 1.0 and mine.numbers["z"] >= TOP_SHARE_Z and mine.severity == "high"


def test_top_share_quiet_for_similar_tablets_or_few_ratings(db, plant, make_device):
    first, _ = make_device(UNIT, "Quầy 1")
    second, _ = make_device(UNIT, "Quầy 2")
    third, _ = make_device(UNIT, "Quầy 3")
    plant(UNIT, 60, device=first, rating=[3, 3, 2])
    plant(UNIT, 90, device=second, rating=[3, 2, 3, 1, 3, 3])
    plant(UNIT, TOP_SHARE_MIN_RATINGS - 1, device=third, rating=3)  # all top, but too few to judge
    assert "top_share_outlier" not in codes(signals())


def test_top_face_is_the_highest_face_of_the_version_rated(db, plant, make_device):
    """On the five-face version the top face is 5 (a 3 there is "neutral")."""
    stuffed, _ = make_device(UNIT, "Quầy 1")
    honest, _ = make_device(UNIT, "Quầy 2")
    plant(UNIT, 60, device=stuffed, rating=5, version=2)
    plant(UNIT, 120, device=honest, rating=[1, 2, 3, 4, 5, 4, 3, 3], version=2)
    found = {s.device_id: s for s in signals() if s.code == "top_share_outlier"}
    assert found[stuffed.id].numbers["share"] == 1.0 and found[stuffed.id].numbers["top_face"] == 5
    assert found[honest.id].numbers["share"] == round(1 / 8, 3)


def test_three_face_and_five_face_tablets_are_never_compared(db, plant, make_device):
    """Each tablet's top share is compared only with tablets rated on the same version (scale)."""
    old, _ = make_device(UNIT, "Quầy 1")
    new, _ = make_device(UNIT, "Quầy 2")
    plant(UNIT, 90, device=old, rating=[3, 3, 2], version=1)  # two thirds "very satisfied" of three faces
    plant(UNIT, 120, device=new, rating=[5, 4, 3, 2], version=2)  # a quarter "very satisfied" of five
    assert "top_share_outlier" not in codes(signals())


def test_two_proportion_z():
    from webapp.integrity.signals import two_proportion_z

    assert two_proportion_z(50, 100, 50, 100) == 0
    assert two_proportion_z(30, 30, 30, 30) is None
    assert two_proportion_z(60, 60, 30, 120) > 4


def _tokens(db, unit_code: str, count: int, unit_by_code, *, revoked: int = 0) -> None:
    from webapp.models import ReceiptToken, Service

    service = db.session.scalar(select(Service).where(Service.code == "land"))
    for index in range(count):
        db.session.add(
            ReceiptToken(
                token_hash=uuid.uuid4().hex * 2,
                unit_id=unit_by_code(unit_code).id,
                service_id=service.id,
                case_digest=uuid.uuid4().hex * 2,
                issued_at=MOMENT,
                expires_at=MOMENT + timedelta(days=30),
                revoked_at=MOMENT if index < revoked else None,
            )
        )
    db.session.commit()


def test_receipt_codes_beyond_dossiers(db, unit_by_code):
    counts(db, UNIT, QUARTER.label, 3, unit_by_code)
    _tokens(db, UNIT, 6, unit_by_code, revoked=2)  # 4 live codes for 3 dossiers
    counts(db, "n03688", QUARTER.label, 100, unit_by_code)
    _tokens(db, "n03688", 5, unit_by_code)
    _tokens(db, "n03694", 2, unit_by_code)  # no count at all
    found = signals()
    beyond = [s for s in found if s.code == "receipts_beyond_dossiers"]
    assert [(s.unit.code, s.numbers["issued"], s.numbers["dossiers"]) for s in beyond] == [(UNIT, 4, 3)]
    assert codes(found, "n03688") == set()
    assert codes(found, "n03694") == {"receipts_without_dossiers"}


def test_bursts_and_backdated_per_tablet(db, plant, make_device):
    device, _ = make_device(UNIT)
    plant(UNIT, 7, device=device, flags=("burst",))
    plant(UNIT, 2, device=device, flags=("backdated",))
    plant(UNIT, 16, device=device, flags=("implausible_rate", "burst"))
    pace = [s for s in signals() if s.code == "device_pace"]
    assert len(pace) == 1 and pace[0].severity == "high"
    assert pace[0].numbers == {"count": 41, "by_flag": {"burst": 23, "implausible_rate": 16, "backdated": 2}}


def test_many_ratings_from_one_address_show_only_a_digest_prefix(db, plant):
    digest = "0123456789abcdef" * 2
    plant(UNIT, 20, channel="online", digest=digest)
    plant(UNIT, 5, channel="online", digest=digest, flags=("same_source",))
    plant(UNIT, 3, channel="online", digest="f" * 32)
    found = [s for s in signals() if s.code == "same_source"]
    assert len(found) == 1
    assert found[0].numbers["top_sources"] == [{"source": "01234567", "count": 25}, {"source": "ffffffff", "count": 3}]
    assert digest not in found[0].explanation and "01234567" in found[0].explanation


def test_refused_attempts_from_the_audit_log(db, registry):
    from webapp.audit import record_event

    for action in ("integrity.refused_submission", "integrity.refused_submission", "integrity.receipts_refused"):
        record_event(action, actor="system", object_type="unit", object_id=UNIT, detail="too many").at = MOMENT
    record_event("user.login", actor="x", object_type="unit", object_id=UNIT).at = MOMENT
    record_event("integrity.refused_submission", actor="system", object_type="unit", object_id=UNIT).at = (
        MOMENT - timedelta(days=90)
    )
    db.session.commit()
    found = [s for s in signals() if s.code == "refused_attempts"]
    assert len(found) == 1 and found[0].unit.code == UNIT
    assert found[0].numbers == {
        "count": 3,
        "by_action": {"integrity.refused_submission": 2, "integrity.receipts_refused": 1},
    }


# --- the review services --------------------------------------------------------------------


def test_reinstate_and_exclude_services(db, plant):
    from webapp.integrity.review import ReviewError, exclude_response, reinstate_response
    from webapp.models import AuditEvent, Response

    flagged = plant(UNIT, 1, flags=("burst",))[0]
    with pytest.raises(ReviewError, match="reason_required"):
        reinstate_response(flagged, "   ")
    reinstate_response(flagged, "the queue was long that day", actor="cli")
    db.session.commit()
    response = db.session.get(Response, flagged)
    assert response.status == "valid" and response.reinstated_at is not None and response.quality_flags == ["burst"]
    with pytest.raises(ReviewError, match="not_flagged"):
        reinstate_response(flagged, "again")
    exclude_response(flagged, "on second thoughts", actor="cli")
    db.session.commit()
    db.session.refresh(response)
    assert response.status == "flagged" and response.quality_flags == ["burst", "admin_excluded"]
    assert response.reinstated_at is None
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "response").order_by(AuditEvent.id)
    ).all()
    assert [e.action for e in events] == ["response.reinstate", "response.exclude"]
    assert events[0].before["status"] == "flagged" and events[0].after["status"] == "valid"


# --- the admin page ---------------------------------------------------------------------------


def _audit(db, action: str):
    from webapp.models import AuditEvent

    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_page_shows_signals_and_flagged_responses(admin_client, db, plant, make_device, lang):
    device, _ = make_device(UNIT)
    plant(UNIT, 30, device=device)
    plant(UNIT, 3, device=device, flags=("outside_hours",))
    soup = check_page(admin_client.get(f"/admin/integrity?lang={lang}"), lang=lang)
    text = soup.get_text(" ")
    assert "2025-Q3" in text
    assert soup.find("table", attrs={"data-sortable": True}).find("caption")
    forms = soup.select("form[action$='/reinstate']")
    assert len(forms) == 3 and all(f.find("input", attrs={"name": "csrf_token"}) for f in forms)
    drill = check_page(admin_client.get(f"/admin/integrity?period=2025-Q3&device={device.id}&lang={lang}"))
    assert len(drill.select("form[action$='/exclude']")) == 30
    check_page(admin_client.get(f"/admin/integrity?period=2025-Q3&unit={UNIT}&lang={lang}"))


def test_reinstate_through_the_web_needs_a_reason_and_is_audited(admin_client, db, plant):
    from webapp.models import Response

    flagged = plant(UNIT, 1, flags=("burst", "too_fast"))[0]
    page = admin_client.get("/admin/integrity?period=2025-Q3")
    token = csrf_from(page)
    refused = admin_client.post(
        f"/admin/integrity/responses/{flagged}/reinstate", data={"csrf_token": token, "reason": " "}
    )
    assert refused.status_code == 400
    check_page(refused, status=400)
    assert db.session.get(Response, flagged).status == "flagged"
    without_csrf = admin_client.post(f"/admin/integrity/responses/{flagged}/reinstate", data={"reason": "fine"})
    assert without_csrf.status_code == 400
    db.session.expire_all()
    assert db.session.get(Response, flagged).status == "flagged" and not _audit(db, "response.reinstate")

    done = admin_client.post(
        f"/admin/integrity/responses/{flagged}/reinstate",
        data={
            "csrf_token": token,
            "reason": "Checked with the counter: real visitors",
            "back": "/admin/integrity?period=2025-Q3",
        },
    )
    assert done.status_code == 302 and done.headers["Location"].endswith("/admin/integrity?period=2025-Q3")
    db.session.expire_all()
    response = db.session.get(Response, flagged)
    assert response.status == "valid" and response.reinstated_at and response.quality_flags == ["burst", "too_fast"]
    [event] = _audit(db, "response.reinstate")
    assert event.actor == admin_client.admin.email and event.object_id == str(flagged)
    assert event.before["status"] == "flagged" and event.after["status"] == "valid"
    assert "real visitors" in event.detail
    again = admin_client.post(
        f"/admin/integrity/responses/{flagged}/reinstate", data={"csrf_token": token, "reason": "x"}
    )
    assert again.status_code == 409


def test_exclude_through_the_web_from_a_tablet_drill_down(admin_client, db, plant, make_device):
    from webapp.models import Response

    device, _ = make_device(UNIT)
    [valid] = plant(UNIT, 1, device=device)
    page = admin_client.get(f"/admin/integrity?period=2025-Q3&device={device.id}")
    token = csrf_from(page)
    done = admin_client.post(
        f"/admin/integrity/responses/{valid}/exclude",
        data={"csrf_token": token, "reason": "Staff pressed the button", "back": "https://evil.example/"},
    )
    assert done.status_code == 302 and done.headers["Location"].endswith("/admin/integrity")
    db.session.expire_all()
    response = db.session.get(Response, valid)
    assert response.status == "flagged" and response.quality_flags == ["admin_excluded"]
    [event] = _audit(db, "response.exclude")
    assert event.before == {"status": "valid", "quality_flags": [], "reinstated_at": None}
    assert event.after["quality_flags"] == ["admin_excluded"]


def test_bad_input_answers_4xx_never_500(admin_client, db, plant):
    flagged = plant(UNIT, 2, flags=("burst",))[0]
    for path, status in (
        ("/admin/integrity?period=2025-Q9", 400),
        ("/admin/integrity?period=2025", 400),
        ("/admin/integrity?period=%00", 400),
        ("/admin/integrity?page=0", 400),
        ("/admin/integrity?page=abc", 400),
        ("/admin/integrity?page=2", 404),
        ("/admin/integrity?page=99999999999", 400),
        ("/admin/integrity?device=abc", 400),
        ("/admin/integrity?device=999", 404),
        ("/admin/integrity?unit=nope", 404),
        ("/admin/integrity/responses/999", 404),
    ):
        assert admin_client.get(path).status_code == status, path
    token = csrf_from(admin_client.get("/admin/integrity"))
    assert (
        admin_client.post(
            "/admin/integrity/responses/999/reinstate", data={"csrf_token": token, "reason": "x"}
        ).status_code
        == 404
    )
    long = admin_client.post(
        f"/admin/integrity/responses/{flagged}/reinstate",
        data={"csrf_token": token, "reason": "x" * (REASON_MAX_LENGTH + 1)},
    )
    assert long.status_code == 400
    # a quarter with no data is simply empty
    assert admin_client.get("/admin/integrity?period=2030-Q1").status_code == 200


@pytest.mark.parametrize("role", ["agency_manager", "viewer"])
def test_other_roles_are_refused(client, make_user, sign_in, db, plant, role):
    flagged = plant(UNIT, 1, flags=("burst",))[0]
    sign_in(make_user(role, UNIT, totp=False))
    assert client.get("/admin/integrity").status_code == 403
    assert client.post(f"/admin/integrity/responses/{flagged}/reinstate", data={"reason": "x"}).status_code in {
        400,
        403,
    }


def test_anonymous_is_sent_to_sign_in(client, db):
    answer = client.get("/admin/integrity")
    assert answer.status_code == 302 and "/auth/login" in answer.headers["Location"]


# --- the weekly summary -------------------------------------------------------------------------


def test_cli_summary_prints_the_planted_signal(runner, db, plant, make_device):
    device, _ = make_device(UNIT)
    recent = datetime.now(UTC) - timedelta(days=2)
    plant(UNIT, 8, device=device, when=recent, flags=("burst",))
    plant(UNIT, 2, device=device, when=datetime.now(UTC) - timedelta(days=30), flags=("backdated",))
    text = runner.invoke(args=["integrity", "summary"])
    assert text.exit_code == 0, text.output
    assert "device_pace" in text.output and UNIT in text.output
    document = json.loads(runner.invoke(args=["integrity", "summary", "--days", "7", "--format", "json"]).output)
    assert document["signals_by_code"]["device_pace"] == 1
    [unit] = document["top_units"]
    [pace] = [s for s in unit["signals"] if s["code"] == "device_pace"]
    assert pace["numbers"]["by_flag"] == {"burst": 8}  # the backdated ones are older than 7 days
    assert runner.invoke(args=["integrity", "summary", "--days", "0"]).exit_code != 0


def test_cli_summary_is_quiet_on_normal_data(runner, db, plant, make_device):
    device, _ = make_device(UNIT)
    plant(UNIT, 10, device=device, when=datetime.now(UTC) - timedelta(days=1))
    document = json.loads(runner.invoke(args=["integrity", "summary", "--format", "json"]).output)
    assert not any(document["signals_by_code"].values()) and document["top_units"] == []
    assert document["totals"]["responses"] == 10


def test_cli_reinstate_uses_the_same_service(runner, db, plant):
    from webapp.models import Response

    flagged = plant(UNIT, 1, flags=("burst",))[0]
    assert runner.invoke(args=["integrity", "reinstate", str(flagged), "--reason", ""]).exit_code != 0
    result = runner.invoke(args=["integrity", "reinstate", str(flagged), "--reason", "checked"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(Response, flagged).status == "valid"
