"""Kiosk tablets, receipt QR code sheets, revocations and the counter poster of a unit."""

from __future__ import annotations

from sqlalchemy import select

from tests.conftest import add_dossier_counts, csrf_from
from tests.pages import check_page
from tests.webapp.agency_fixtures import OURS, THEIRS


def _devices_page(http, code=OURS):
    return http.get(f"/agency/units/{code}/devices")


def _import_counts(db, code=OURS, service="land", count=20):
    """Receipt codes are issued only up to the unit's imported dossier counts of the quarter."""
    add_dossier_counts(code, service, count)


def test_add_a_device_shows_its_kiosk_address_once_and_it_works(db, make_user, sign_in, client):
    from webapp.models import AuditEvent, Device

    http = sign_in(make_user("agency_manager", OURS))
    page = _devices_page(http)
    check_page(page)
    answer = http.post(
        f"/agency/units/{OURS}/devices",
        data={"csrf_token": csrf_from(page), "counter": "  Quầy   2 ", "label": "Máy số 7"},
    )
    soup = check_page(answer)
    assert answer.headers["Cache-Control"] == "no-store"
    address = soup.select_one(".secret code").get_text()
    assert "/kiosk/" in address and soup.select_one("figure.qr svg")
    key = address.rsplit("/", 1)[1]
    assert client.get(f"/kiosk/{key}").status_code == 404  # waits for Sở Nội vụ's approval
    device = db.session.scalars(select(Device)).one()
    from webapp.services.devices import approve_device

    approve_device(device, actor=None)
    db.session.commit()
    assert client.get(f"/kiosk/{key}").status_code == 200
    assert device.counter.name == "Quầy 2" and device.label == "Máy số 7"
    assert key not in _devices_page(http).get_data(as_text=True)
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "device.create")).one()


def test_device_form_refuses_an_empty_counter(db, make_user, sign_in):
    http = sign_in(make_user("agency_manager", OURS))
    answer = http.post(
        f"/agency/units/{OURS}/devices", data={"csrf_token": csrf_from(_devices_page(http)), "counter": " "}
    )
    check_page(answer, status=400)
    assert 'href="#field-counter"' in answer.get_data(as_text=True)


def test_revoke_a_device_after_confirmation(db, make_user, sign_in, make_device, client):
    device, key = make_device(OURS, "Quầy 1")
    http = sign_in(make_user("agency_manager", OURS))
    confirm = http.get(f"/agency/devices/{device.id}/revoke")
    check_page(confirm)
    answer = http.post(f"/agency/devices/{device.id}/revoke", data={"csrf_token": csrf_from(confirm)})
    assert answer.status_code == 302
    db.session.refresh(device)
    assert device.revoked_at is not None
    assert client.get(f"/kiosk/{key}").status_code == 404


def test_issue_a_sheet_of_receipt_codes_and_revoke_one(db, make_user, sign_in, client):
    from webapp.models import ReceiptToken

    _import_counts(db)
    http = sign_in(make_user("agency_manager", OURS))
    page = _devices_page(http)
    answer = http.post(
        f"/agency/units/{OURS}/receipts",
        data={
            "csrf_token": csrf_from(page),
            "service": "land",
            "cases": "000.12.34.H57-261128-0001\n\n000.12.34.H57-261128-0002\n000.12.34.H57-261128-0001\n",
        },
    )
    soup = check_page(answer)
    slips = soup.select("li.receipt-slip")
    assert len(slips) == 2
    codes = [s.select_one(".receipt-slip__code").get_text() for s in slips]
    assert len(codes) == 2 and all(len(code) == 19 and code.count("-") == 3 for code in codes)
    assert all(s.select_one("svg") for s in slips)
    assert "H57-261128" not in soup.get_text()  # the case number is not printed nor stored
    tokens = db.session.scalars(select(ReceiptToken)).all()
    assert len(tokens) == 2
    from surveys.tokens import TokenState, check_token

    assert {check_token(code).state for code in codes} == {TokenState.VALID}
    assert client.get(f"/r/{codes[0].replace('-', '')}").status_code in (200, 302)

    listing = check_page(_devices_page(http))
    assert listing.find(id="caption-tokens")
    row = db.session.scalars(select(ReceiptToken).order_by(ReceiptToken.id)).first()
    confirm = http.get(f"/agency/tokens/{row.id}/revoke")
    check_page(confirm)
    assert http.post(f"/agency/tokens/{row.id}/revoke", data={"csrf_token": csrf_from(confirm)}).status_code == 302
    db.session.refresh(row)
    assert row.revoked_at is not None
    states = {check_token(code).state for code in codes}
    assert TokenState.UNKNOWN in states and TokenState.VALID in states


def test_receipt_sheet_refuses_bad_input(db, make_user, sign_in):
    from webapp.services.receipts import MAX_CASE_LENGTH, MAX_CASES_PER_SHEET

    http = sign_in(make_user("agency_manager", OURS))
    page = _devices_page(http)
    for data in (
        {"service": "land", "cases": "  \n "},
        {"service": "no-such", "cases": "A1"},
        {"service": "land", "cases": "x" * (MAX_CASE_LENGTH + 1)},
        {"service": "land", "cases": "\n".join(f"C{i}" for i in range(MAX_CASES_PER_SHEET + 1))},
    ):
        answer = http.post(f"/agency/units/{OURS}/receipts", data={"csrf_token": csrf_from(page), **data})
        check_page(answer, status=400)


def test_poster_has_the_survey_qr_in_both_languages(db, make_user, sign_in):
    http = sign_in(make_user("viewer", OURS))
    soup = check_page(http.get(f"/agency/units/{OURS}/poster"))
    assert soup.select_one(".poster__qr svg")
    assert f"/survey/{OURS}" in soup.get_text()
    assert soup.select('[lang="vi"]') and soup.select('[lang="en"]')


def test_viewer_cannot_change_devices_or_tokens(db, make_user, sign_in, make_device):
    device, _key = make_device(OURS, "Quầy 1")
    http = sign_in(make_user("viewer", OURS))
    page = _devices_page(http)
    assert not check_page(page).select("form[method=post]:not(.inline-form)")
    confirm = check_page(http.get(f"/agency/devices/{device.id}/revoke"))
    assert not confirm.select("form[method=post]:not(.inline-form)")
    token = csrf_from(page)
    assert http.post(f"/agency/units/{OURS}/devices", data={"csrf_token": token, "counter": "Q"}).status_code == 403
    assert http.post(f"/agency/devices/{device.id}/revoke", data={"csrf_token": token}).status_code == 403
    assert (
        http.post(
            f"/agency/units/{OURS}/receipts", data={"csrf_token": token, "service": "land", "cases": "A"}
        ).status_code
        == 403
    )


def test_devices_and_tokens_of_another_commune_answer_404(db, make_user, sign_in, make_device, unit_by_code):
    from surveys.tokens import issue_token
    from webapp.models import Service

    device, _key = make_device(THEIRS, "Quầy 1")
    _token, row = issue_token(
        unit_by_code(THEIRS), db.session.scalar(select(Service).where(Service.code == "land")), "HS-1"
    )
    db.session.commit()
    http = sign_in(make_user("agency_manager", OURS))
    token = csrf_from(_devices_page(http))
    assert _devices_page(http, THEIRS).status_code == 404
    assert http.get(f"/agency/units/{THEIRS}/poster").status_code == 404
    assert http.post(f"/agency/units/{THEIRS}/devices", data={"csrf_token": token, "counter": "Q"}).status_code == 404
    assert (
        http.post(
            f"/agency/units/{THEIRS}/receipts", data={"csrf_token": token, "service": "land", "cases": "A"}
        ).status_code
        == 404
    )
    assert http.get(f"/agency/devices/{device.id}/revoke").status_code == 404
    assert http.post(f"/agency/devices/{device.id}/revoke", data={"csrf_token": token}).status_code == 404
    assert http.get(f"/agency/tokens/{row.id}/revoke").status_code == 404
    assert http.post(f"/agency/tokens/{row.id}/revoke", data={"csrf_token": token}).status_code == 404
    db.session.refresh(device)
    db.session.refresh(row)
    assert device.revoked_at is None and row.revoked_at is None


def test_a_revoked_receipt_code_is_not_reprinted(db, make_user, sign_in):
    """Reprinting a dossier whose code was revoked would print a dead QR code: it is refused."""
    from webapp.models import ReceiptToken

    _import_counts(db)
    http = sign_in(make_user("agency_manager", OURS))

    def issue(cases: str):
        return http.post(
            f"/agency/units/{OURS}/receipts",
            data={"csrf_token": csrf_from(_devices_page(http)), "service": "land", "cases": cases},
        )

    assert issue("HS-001").status_code == 200
    row = db.session.scalars(select(ReceiptToken)).one()
    confirm = http.get(f"/agency/tokens/{row.id}/revoke")
    http.post(f"/agency/tokens/{row.id}/revoke", data={"csrf_token": csrf_from(confirm)})
    again = issue("HS-001\nHS-002")
    assert again.status_code == 409
    assert "HS-001" in again.get_data(as_text=True)
    assert db.session.scalar(select(ReceiptToken).where(ReceiptToken.id != row.id)) is None  # nothing half-issued


def test_no_tablet_is_added_at_a_closed_counter(db, make_user, sign_in, unit_by_code):
    from webapp.models import Counter, Device

    db.session.add(Counter(unit=unit_by_code(OURS), name="Quầy 9", active=False))
    db.session.commit()
    http = sign_in(make_user("agency_manager", OURS))
    answer = http.post(
        f"/agency/units/{OURS}/devices", data={"csrf_token": csrf_from(_devices_page(http)), "counter": "Quầy 9"}
    )
    assert answer.status_code == 409
    assert db.session.scalar(select(Device)) is None
