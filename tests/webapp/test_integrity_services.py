"""Issue #12, findings 3 and 13: receipt codes only for real dossiers, kiosks need approval and
have caps, and the domain rules live in services that the web and the CLI share."""

from __future__ import annotations

import uuid as _uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tests.conftest import add_dossier_counts, complete_online_answers, csrf_from
from tests.pages import check_page
from tests.webapp.agency_fixtures import OURS

ABOLISHED = "c03646"  # Phường Chiềng Lề, merged into n03646 on 2025-07-01
HOSPITAL = "bv-dk-tinh-sonla"  # offers no service the counter kiosk can rate


def quarter(offset: int = 0) -> str:
    """The quarter ``offset`` quarters from today's (in Việt Nam)."""
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh"))
    index = today.year * 4 + (today.month - 1) // 3 + offset
    return f"{index // 4}-Q{index % 4 + 1}"


def tokens_count(db) -> int:
    from webapp.models import ReceiptToken

    return db.session.scalar(select(func.count()).select_from(ReceiptToken))


def devices_count(db) -> int:
    from webapp.models import Device

    return db.session.scalar(select(func.count()).select_from(Device))


def issue_sheet(http, cases: list[str], service: str = "land"):
    page = http.get(f"/agency/units/{OURS}/devices")
    return http.post(
        f"/agency/units/{OURS}/receipts?lang=en",
        data={"csrf_token": csrf_from(page), "service": service, "cases": "\n".join(cases)},
    )


# --- finding 3: receipt codes only for real dossiers -----------------------------------------


def test_finding_03_a_manager_cannot_mint_200_codes_in_one_post(db, make_user, sign_in, unit_by_code):
    from webapp.services.receipts import MAX_CASES_PER_SHEET

    add_dossier_counts(OURS, "land", {quarter(): 1000})
    http = sign_in(make_user("agency_manager", OURS))
    answer = issue_sheet(http, [f"HS-{n:04d}" for n in range(200)])
    assert answer.status_code == 400
    assert f"at most {MAX_CASES_PER_SHEET}" in check_page(answer, status=400).get_text(" ")
    assert tokens_count(db) == 0


def test_finding_03_codes_stop_at_the_dossiers_the_unit_handled(db, make_user, sign_in, unit_by_code):
    add_dossier_counts(OURS, "land", {quarter(): 5})
    http = sign_in(make_user("agency_manager", OURS))
    assert issue_sheet(http, [f"HS-{n}" for n in range(6)]).status_code == 409
    assert tokens_count(db) == 0
    assert issue_sheet(http, [f"HS-{n}" for n in range(3)]).status_code == 200
    assert issue_sheet(http, ["HS-0", "HS-1", "HS-2"]).status_code == 200  # reprints cost nothing
    refused = issue_sheet(http, ["HS-3", "HS-4", "HS-5"])
    assert refused.status_code == 409
    text = check_page(refused, status=409).get_text(" ")
    assert "2" in text and tokens_count(db) == 3
    assert issue_sheet(http, ["HS-3", "HS-4"]).status_code == 200
    assert tokens_count(db) == 5


def test_finding_03_no_dossier_counts_means_no_codes(db, make_user, sign_in):
    http = sign_in(make_user("agency_manager", OURS))
    answer = issue_sheet(http, ["HS-1"])
    assert answer.status_code == 409
    assert "dossier counts" in check_page(answer, status=409).get_text(" ")
    assert tokens_count(db) == 0


def test_finding_03_allowance_falls_back_to_the_busiest_of_the_last_four_quarters(db, unit_by_code):
    from webapp.models import Service
    from webapp.services.receipts import allowance

    add_dossier_counts(
        OURS,
        "land",
        {quarter(-6): 900, quarter(-5): 40, quarter(-4): 70, quarter(-3): 10, quarter(-2): 30, quarter(-1): 20},
    )
    land = db.session.scalar(select(Service).where(Service.code == "land"))
    found = allowance(unit_by_code(OURS), land)
    assert found.limit == 70 and found.used == 0 and found.source_period == quarter(-4)
    add_dossier_counts(OURS, "land", {quarter(): 12})
    assert allowance(unit_by_code(OURS), land).limit == 12


def test_finding_03_issuance_is_audited_once_per_batch_without_case_numbers(db, make_user, sign_in, unit_by_code):
    from webapp.models import AuditEvent

    add_dossier_counts(OURS, "land", {quarter(): 50})
    http = sign_in(make_user("agency_manager", OURS))
    assert issue_sheet(http, [f"HS-SECRET-{n}" for n in range(7)]).status_code == 200
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("token.%"))).all()
    assert len(events) == 1
    [event] = events
    assert event.after["count"] == 7 and event.after["unit"] == OURS and event.after["service"] == "land"
    assert "HS-SECRET" not in str(event.after) + str(event.detail) + str(event.before)


def test_finding_03_a_manager_cannot_add_20_kiosks_and_new_ones_wait_for_approval(db, make_user, sign_in, client):
    from webapp.models import Device
    from webapp.services.devices import MAX_DEVICES_PER_COUNTER

    http = sign_in(make_user("agency_manager", OURS))
    allowed = 3 * MAX_DEVICES_PER_COUNTER  # the tablets fit at three counters
    statuses, keys = [], []
    for n in range(20):
        page = http.get(f"/agency/units/{OURS}/devices")
        answer = http.post(
            f"/agency/units/{OURS}/devices", data={"csrf_token": csrf_from(page), "counter": f"Quầy {n % 3}"}
        )
        statuses.append(answer.status_code)
        if answer.status_code == 200:
            keys.append(check_page(answer).select_one(".secret code").get_text().rsplit("/", 1)[1])
    assert statuses.count(200) == allowed
    assert set(statuses[allowed:]) == {409}
    assert devices_count(db) == allowed
    devices = db.session.scalars(select(Device)).all()
    assert devices and all(device.approved_at is None for device in devices)
    pending = client.get(f"/kiosk/{keys[0]}?lang=en")
    assert pending.status_code == 404 and "waiting for approval" in pending.get_data(as_text=True)
    assert client.post("/api/v1/responses", json={}, headers={"X-Device-Key": keys[0]}).status_code == 403


def test_finding_03_a_unit_has_at_most_ten_kiosks(db, unit_by_code):
    from webapp.services import ServiceError
    from webapp.services.devices import MAX_DEVICES_PER_UNIT, create_device

    for n in range(MAX_DEVICES_PER_UNIT):
        create_device(unit_by_code(OURS), f"Quầy {n}", actor=None)
    with pytest.raises(ServiceError) as refused:
        create_device(unit_by_code(OURS), "Quầy 99", actor=None)
    assert refused.value.code == "unit_device_cap"


def test_finding_03_admin_approves_or_rejects_pending_kiosks(db, make_user, sign_in, client, app):
    from webapp.models import AuditEvent, Device

    manager = sign_in(make_user("agency_manager", OURS))
    keys = []
    for counter in ("Quầy 1", "Quầy 2"):
        page = manager.get(f"/agency/units/{OURS}/devices")
        answer = manager.post(f"/agency/units/{OURS}/devices", data={"csrf_token": csrf_from(page), "counter": counter})
        keys.append(check_page(answer).select_one(".secret code").get_text().rsplit("/", 1)[1])
    first, second = db.session.scalars(select(Device).order_by(Device.id)).all()

    admin = sign_in(make_user("admin"), http=app.test_client())
    listing = admin.get("/admin/devices?state=pending&lang=en")
    soup = check_page(listing)
    assert f"Approve tablet {first.id}" in soup.get_text(" ") and f"Reject tablet {second.id}" in soup.get_text(" ")
    assert admin.post(f"/admin/devices/{first.id}/approve", data={}).status_code == 400  # CSRF needed
    token = csrf_from(listing)
    assert admin.post(f"/admin/devices/{first.id}/approve", data={"csrf_token": token}).status_code == 302
    assert admin.post(f"/admin/devices/{second.id}/reject", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert first.approved_at is not None and first.revoked_at is None
    assert second.approved_at is None and second.revoked_at is not None
    assert client.get(f"/kiosk/{keys[0]}").status_code == 200
    assert client.get(f"/kiosk/{keys[1]}").status_code == 404
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"device.approve", "device.reject"} <= actions
    # a manager cannot approve their own tablet
    own_token = csrf_from(manager.get(f"/agency/units/{OURS}/devices"))
    assert manager.post(f"/admin/devices/{second.id}/approve", data={"csrf_token": own_token}).status_code in (403, 404)


def test_finding_03_an_admin_adds_an_approved_kiosk(db, make_user, sign_in, client):
    http = sign_in(make_user("admin"))
    page = http.get(f"/agency/units/{OURS}/devices")
    answer = http.post(f"/agency/units/{OURS}/devices", data={"csrf_token": csrf_from(page), "counter": "Quầy 1"})
    key = check_page(answer).select_one(".secret code").get_text().rsplit("/", 1)[1]
    assert client.get(f"/kiosk/{key}").status_code == 200


# --- finding 13: the CLI goes through the same rules ------------------------------------------


def test_finding_13_cli_refuses_a_device_at_a_closed_counter(runner, db, unit_by_code):
    from webapp.models import Counter

    db.session.add(Counter(unit=unit_by_code(OURS), name="Quầy 9", active=False))
    db.session.commit()
    result = runner.invoke(args=["devices", "create", "--unit", OURS, "--counter", "Quầy 9"])
    assert result.exit_code != 0 and "closed" in result.output
    assert "/kiosk/" not in result.output
    assert devices_count(db) == 0


def test_finding_13_cli_refuses_a_device_at_an_abolished_unit(runner, db, registry):
    from webapp.models import Counter

    result = runner.invoke(args=["devices", "create", "--unit", ABOLISHED, "--counter", "Quầy 1"])
    assert result.exit_code != 0 and "no longer exists" in result.output
    assert devices_count(db) == 0 and db.session.scalar(select(Counter)) is None


def test_finding_13_cli_refuses_a_device_at_a_unit_without_counter_services(runner, db, registry):
    result = runner.invoke(args=["devices", "create", "--unit", HOSPITAL, "--counter", "Quầy 1"])
    assert result.exit_code != 0
    assert devices_count(db) == 0


def test_finding_13_cli_devices_are_approved_and_capped(runner, db, registry, client):
    from webapp.services.devices import MAX_DEVICES_PER_COUNTER

    for _ in range(MAX_DEVICES_PER_COUNTER):
        result = runner.invoke(args=["devices", "create", "--unit", OURS, "--counter", "Quầy 1"])
        assert result.exit_code == 0, result.output
    key = result.output.split("/kiosk/")[1].split()[0]
    assert client.get(f"/kiosk/{key}").status_code == 200
    third = runner.invoke(args=["devices", "create", "--unit", OURS, "--counter", "Quầy 1"])
    assert third.exit_code != 0 and devices_count(db) == MAX_DEVICES_PER_COUNTER


def test_finding_13_cli_refuses_to_reprint_a_used_code(runner, db, unit_by_code):
    from webapp.models import ReceiptToken, Response, utcnow

    add_dossier_counts(OURS, "land", {quarter(): 10})
    args = ["tokens", "issue", "--unit", OURS, "--service", "land", "--case", "HS-USED-1"]
    assert runner.invoke(args=args).exit_code == 0
    row = db.session.scalars(select(ReceiptToken)).one()
    from tests.webapp.agency_fixtures import rate

    response = db.session.get(Response, rate(OURS))
    row.used_at, row.response_id = utcnow(), response.id
    db.session.commit()
    again = runner.invoke(args=args)
    assert again.exit_code != 0 and "used" in again.output
    assert "/r/" not in again.output


def test_finding_13_cli_tokens_respect_the_dossier_allowance(runner, db, registry):
    result = runner.invoke(args=["tokens", "issue", "--unit", OURS, "--service", "land", "--case", "HS-1"])
    assert result.exit_code != 0 and "dossier counts" in result.output
    assert tokens_count(db) == 0


def test_finding_13_closing_a_counter_is_one_service_for_web_and_cli(runner, db, make_device, client):
    from webapp.models import Counter

    device, key = make_device(OURS, "Quầy 4")
    result = runner.invoke(args=["counters", "close", "--unit", OURS, "--counter", "Quầy 4"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    counter = db.session.scalar(select(Counter).where(Counter.name == "Quầy 4"))
    assert counter.active is False and device.revoked_at is not None
    assert client.get(f"/kiosk/{key}").status_code == 404


def test_finding_03_revoking_used_codes_does_not_refill_the_allowance(app, db, registry):
    """Issue codes, rate with them, revoke them, issue again: a used code counts for good (review attack)."""
    from surveys.submission import Submission, submit_response
    from webapp.models import Response, Service, Unit
    from webapp.services import ServiceError
    from webapp.services.receipts import allowance, issue_receipts, revoke_receipt

    unit = db.session.scalar(select(Unit).where(Unit.code == "sl-ttpvhcc"))
    service = db.session.scalar(select(Service).where(Service.code == "land"))
    add_dossier_counts(unit.code, service.code, {quarter(): 10})
    _instrument, answers = complete_online_answers(service.code)
    with app.test_request_context():
        issued = issue_receipts(unit, service, [f"FAKE-{i}" for i in range(10)], actor=None)
        db.session.commit()
        for i, receipt in enumerate(issued):
            submit_response(
                Submission(
                    client_id=_uuid.uuid4(),
                    instrument_code=service.instrument_code,
                    unit_code=unit.code,
                    service_code=service.code,
                    channel="qr",
                    answers=answers,
                    receipt_token=receipt.row,
                    source_address=f"198.51.100.{i}",
                )
            )
        assert len(issued) == 10
        for receipt in issued:
            db.session.refresh(receipt.row)
            with pytest.raises(ServiceError) as refused:
                revoke_receipt(receipt.row, actor=None)
            assert refused.value.code == "receipt_already_used"
        db.session.rollback()
        assert allowance(unit, service).remaining == 0
        with pytest.raises(ServiceError):
            issue_receipts(unit, service, ["FAKE-again"], actor=None)
    assert db.session.scalar(select(func.count()).select_from(Response).where(Response.channel == "qr")) == 10
