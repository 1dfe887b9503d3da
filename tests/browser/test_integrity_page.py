"""The integrity page in Chromium: axe-clean in vi and en, the drill-down and review pages too,
and reinstating a flagged rating works with the keyboard-reachable form."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.browser.axe import assert_no_axe_violations, assert_pages_accessible
from tests.browser.conftest import ensure_admin, sign_in_with_totp

EMAIL = "browser-integrity@sonla.gov.vn"


@pytest.fixture(scope="module")
def integrity_data(live_app) -> dict:
    """An admin account and, on a tablet of the demo data, two flagged ratings to review."""
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import Device, Instrument, Response, Service, utcnow
    from webapp.periods import Period

    with live_app.app_context():
        secret = ensure_admin(EMAIL)
        device = db.session.scalar(select(Device).order_by(Device.id))
        instrument = db.session.scalar(select(Instrument).where(Instrument.code == "counter-quick"))
        service = db.session.scalar(select(Service).where(Service.code == "land"))
        moment = utcnow() - timedelta(days=1)
        ids = []
        for flags in (["burst"], ["outside_hours", "backdated"]):
            row = Response(
                client_id=uuid.uuid4(),
                instrument_id=instrument.id,
                unit_id=device.counter.unit_id,
                service_id=service.id,
                counter_id=device.counter_id,
                device_id=device.id,
                channel="kiosk",
                period=Period.quarter_of(moment).label,
                answered_at=moment,
                received_at=moment,
                answers={"overall": 3},
                reasons=[],
                kiosk_rating=3,
                items_rated=1,
                items_satisfied=1,
                status="flagged",
                quality_flags=flags,
            )
            db.session.add(row)
            db.session.flush()
            ids.append(row.id)
        db.session.commit()
        data = {
            "secret": secret,
            "period": Period.quarter_of(moment).label,
            "device": device.id,
            "unit": device.counter.unit.code,
            "responses": ids,
        }
        db.session.remove()
    return data


def sign_in(page, secret: str) -> None:
    sign_in_with_totp(page, EMAIL, secret)


def test_integrity_pages_have_no_axe_violations(page, integrity_data):
    sign_in(page, integrity_data["secret"])
    period, device, unit = integrity_data["period"], integrity_data["device"], integrity_data["unit"]
    first = integrity_data["responses"][0]
    paths = [
        "/admin/integrity",
        f"/admin/integrity?period={period}",
        f"/admin/integrity?period={period}&device={device}",
        f"/admin/integrity?period={period}&unit={unit}",
        f"/admin/integrity/responses/{first}",
    ]
    assert_pages_accessible(page, paths)


def test_reinstate_from_the_page_and_a_refused_review(page, integrity_data):
    sign_in(page, integrity_data["secret"])
    second = integrity_data["responses"][1]
    page.goto(f"/admin/integrity/responses/{second}?lang=en")
    page.get_by_role("button", name="Reinstate").click()  # no reason: refused with a message
    assert page.locator(".field-error").count() == 1
    assert_no_axe_violations(page, "refused review, en")
    page.goto(f"/admin/integrity?period={integrity_data['period']}&lang=en")
    page.get_by_label(f"Reason for reinstating response {second}").fill("Checked with the counter")
    page.locator(f"form[action$='/responses/{second}/reinstate'] button").click()
    page.wait_for_load_state()
    assert f"Response {second} is reinstated" in page.content()
    assert_no_axe_violations(page, "after reinstating, en")
