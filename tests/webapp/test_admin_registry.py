"""Admin registry pages: unit search and filters, edits with audit, counters and tablets."""

from __future__ import annotations

from sqlalchemy import select

from tests.pages import check_page
from tests.webapp.test_admin_pages import audit_rows, post
from webapp.extensions import db as database
from webapp.models import Counter, Device, Service, Unit


def unit(code: str) -> Unit:
    return database.session.scalar(select(Unit).where(Unit.code == code))


def test_search_ignores_accents_and_filters_by_kind_and_date(admin_client):
    html = admin_client.get("/admin/units?q=chieng+den&lang=en").get_data(as_text=True)
    assert "Chiềng Đen" in html
    before = admin_client.get("/admin/units?q=chieng+le&on=2025-06-30").get_data(as_text=True)
    after = admin_client.get("/admin/units?q=chieng+le&on=2025-07-01").get_data(as_text=True)
    assert "/admin/units/c03646" in before and "/admin/units/c03646" not in after
    wards = admin_client.get("/admin/units?kind=ward&on=2025-07-01&lang=en").get_data(as_text=True)
    assert "/admin/units/n03646" in wards and "/admin/units/c03658" not in wards


def test_reorganisation_filters_and_unit_page_show_predecessors_and_successors(admin_client):
    merged = admin_client.get("/admin/units?change=replaced&q=chieng+le&lang=en").get_data(as_text=True)
    assert "/admin/units/c03646" in merged and "Merged into:" in merged
    formed = admin_client.get("/admin/units?change=successor&lang=en").get_data(as_text=True)
    assert "/admin/units/n03646" in formed and "/admin/units/c03646" not in formed
    page = check_page(admin_client.get("/admin/units/n03646?lang=en")).get_text(" ")
    assert "Formed from" in page and "Chiềng Lề" in page
    old = check_page(admin_client.get("/admin/units/c03646?lang=en")).get_text(" ")
    assert "Merged into" in old and "Tô Hiệu" in old


def test_bad_date_filter_is_said_not_a_500(admin_client):
    answer = admin_client.get("/admin/units?on=31-31-2025&lang=en")
    assert answer.status_code == 200 and "Enter a date like 01/07/2025" in answer.get_data(as_text=True)


def test_unit_edit_is_saved_and_audited_with_before_and_after(admin_client, db):
    answer = post(
        admin_client,
        "/admin/units/sl-stp/edit",
        {
            "name_vi": "Sở Tư pháp tỉnh Sơn La",
            "name_en": "Department of Justice",
            "valid_from": "2008-01-01",
            "valid_to": "",
        },
    )
    assert answer.status_code == 302
    db.session.expire_all()
    assert unit("sl-stp").name_vi == "Sở Tư pháp tỉnh Sơn La"
    [event] = audit_rows(db, "unit.update")
    assert event.before == {"name_vi": "Sở Tư pháp"} and event.after == {"name_vi": "Sở Tư pháp tỉnh Sơn La"}
    assert event.object_id == "sl-stp" and event.actor == admin_client.admin.email


def test_unit_edit_refuses_end_before_start_in_the_users_language(admin_client, db):
    answer = post(
        admin_client,
        "/admin/units/sl-stp/edit?lang=vi",
        {
            "name_vi": "Sở Tư pháp",
            "name_en": "Department of Justice",
            "valid_from": "2008-01-01",
            "valid_to": "2001-01-01",
        },
    )
    check_page(answer, status=400, lang="vi")
    answer = post(
        admin_client,
        "/admin/units/sl-stp/edit?lang=en",
        {"name_vi": "", "name_en": "x", "valid_from": "not a date", "valid_to": "2001-01-01"},
    )
    html = check_page(answer, status=400, lang="en").get_text(" ")
    assert "Enter the Vietnamese name" in html and "Enter a date like 01/07/2025" in html
    db.session.expire_all()
    assert unit("sl-stp").valid_to is None and not audit_rows(db, "unit.update")


def test_counters_are_added_renamed_and_closed_with_their_tablets(admin_client, db, make_device):
    assert post(admin_client, "/admin/units/sl-ttpvhcc/counters", {"name": "Quầy 9"}).status_code == 302
    duplicate = post(admin_client, "/admin/units/sl-ttpvhcc/counters?lang=en", {"name": "Quầy 9"})
    assert duplicate.status_code == 400 and "already has a counter" in duplicate.get_data(as_text=True)
    counter = db.session.scalar(select(Counter).where(Counter.name == "Quầy 9"))
    assert post(admin_client, f"/admin/counters/{counter.id}/edit", {"name": "Quầy 10"}).status_code == 302
    device, _ = make_device("sl-ttpvhcc", "Quầy 10")
    assert post(admin_client, f"/admin/counters/{counter.id}/close").status_code == 302
    db.session.expire_all()
    assert counter.name == "Quầy 10" and not counter.active
    assert db.session.get(Device, device.id).revoked_at is not None
    assert [e.after["name"] for e in audit_rows(db, "counter.rename")] == ["Quầy 10"]
    [closed] = audit_rows(db, "counter.close")
    assert closed.before == {"active": True} and closed.after["revoked_devices"] == [device.id]


def test_device_list_and_revoke(admin_client, db, make_device):
    device, _ = make_device("sl-ttpvhcc", "Quầy 1")
    listing = admin_client.get("/admin/devices?state=active&lang=en").get_data(as_text=True)
    assert f"Revoke tablet {device.id}" in listing
    answer = post(admin_client, f"/admin/devices/{device.id}/revoke", {"back": "/admin/devices?state=revoked"})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/admin/devices?state=revoked")
    db.session.expire_all()
    assert db.session.get(Device, device.id).revoked_at is not None
    [event] = audit_rows(db, "device.revoke")
    assert event.before == {"revoked_at": None} and event.after["revoked_at"]
    assert event.actor == admin_client.admin.email
    # an outside "back" address is ignored (no open redirect)
    again = post(admin_client, f"/admin/devices/{device.id}/revoke", {"back": "https://evil.example/"})
    assert again.headers["Location"].endswith("/admin/devices")


def test_service_names_are_edited_and_audited(admin_client, db):
    assert (
        post(
            admin_client, "/admin/services/land/edit", {"name_vi": "Đất đai", "name_en": "Land and housing"}
        ).status_code
        == 302
    )
    db.session.expire_all()
    assert db.session.scalar(select(Service).where(Service.code == "land")).name_en == "Land and housing"
    [event] = audit_rows(db, "service.update")
    assert event.before == {"name_en": "Land"} and event.after == {"name_en": "Land and housing"}
    assert post(admin_client, "/admin/services/land/edit", {"name_vi": "", "name_en": ""}).status_code == 400
