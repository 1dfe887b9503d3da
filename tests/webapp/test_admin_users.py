"""Admin: the life of an account, and the rules that keep an administrator able to act."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.conftest import csrf_from
from tests.pages import check_page
from tests.webapp.test_admin_pages import audit_rows, post
from webapp.models import User


def one_time_password(answer) -> str:
    match = re.search(r'<code class="secret">([^<]+)</code>', answer.get_data(as_text=True))
    assert match, "no one-time password on the page"
    return match.group(1)


def sign_in_with(app, email: str, password: str):
    http = app.test_client()
    page = http.get("/auth/login")
    return http, http.post("/auth/login", data={"csrf_token": csrf_from(page), "email": email, "password": password})


def test_create_shows_the_one_time_password_once_and_stores_only_a_hash(app, admin_client, db):
    answer = post(
        admin_client,
        "/admin/users/new?lang=en",
        {"email": "Nguyen.Van.A@SonLa.gov.vn", "role": "agency_manager", "unit": "sl-ttpvhcc"},
    )
    check_page(answer, lang="en")
    assert answer.headers["Cache-Control"] == "no-store"
    password = one_time_password(answer)
    user = db.session.scalar(select(User).where(User.email == "nguyen.van.a@sonla.gov.vn"))
    assert user.role == "agency_manager" and user.unit.code == "sl-ttpvhcc" and user.must_change_password
    assert password not in user.password_hash
    assert password not in admin_client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    [event] = audit_rows(db, "user.create")
    assert event.after == {"email": "nguyen.van.a@sonla.gov.vn", "role": "agency_manager", "unit": "sl-ttpvhcc"}
    _, signed = sign_in_with(app, user.email, password)
    assert signed.status_code == 302 and signed.headers["Location"].endswith("/auth/password")


def test_create_refuses_bad_input_in_the_users_language(admin_client, db):
    count = len(db.session.scalars(select(User)).all())
    missing_unit = post(
        admin_client, "/admin/users/new?lang=en", {"email": "x@sonla.gov.vn", "role": "viewer", "unit": ""}
    )
    assert "Choose the unit this person works for" in check_page(missing_unit, status=400, lang="en").get_text(" ")
    bad_email = post(admin_client, "/admin/users/new?lang=vi", {"email": "not-an-email", "role": "admin"})
    check_page(bad_email, status=400, lang="vi")
    existing = post(admin_client, "/admin/users/new?lang=en", {"email": admin_client.admin.email, "role": "admin"})
    assert "already exists" in existing.get_data(as_text=True) and existing.status_code == 400
    bad_role = post(admin_client, "/admin/users/new?lang=en", {"email": "y@sonla.gov.vn", "role": "root"})
    assert bad_role.status_code == 400
    assert len(db.session.scalars(select(User)).all()) == count


def test_role_change_reset_two_factor_disable_enable_and_sign_out(app, admin_client, make_user, db):
    other = make_user("viewer", "sl-ttpvhcc")
    assert (
        post(admin_client, f"/admin/users/{other.id}/role", {"role": "agency_manager", "unit": "sl-snv"}).status_code
        == 302
    )
    db.session.expire_all()
    assert (other.role, other.unit.code) == ("agency_manager", "sl-snv")
    [changed] = audit_rows(db, "user.role_change")
    assert changed.before == {"role": "viewer", "unit": "sl-ttpvhcc"} and changed.after == {
        "role": "agency_manager",
        "unit": "sl-snv",
    }

    reset = post(admin_client, f"/admin/users/{other.id}/reset-password?lang=en")
    password = one_time_password(reset)
    _, signed = sign_in_with(app, other.email, password)
    assert signed.status_code == 302  # the new one-time password works (then the code step)

    assert post(admin_client, f"/admin/users/{other.id}/remove-two-factor").status_code == 302
    db.session.expire_all()
    assert other.totp_secret is None
    assert audit_rows(db, "user.second_factor_removed")[0].after == {"two_factor": False}

    version = other.session_version
    assert post(admin_client, f"/admin/users/{other.id}/sign-out").status_code == 302
    db.session.expire_all()
    assert other.session_version == version + 1

    assert post(admin_client, f"/admin/users/{other.id}/disable").status_code == 302
    db.session.expire_all()
    assert not other.active
    _, refused = sign_in_with(app, other.email, password)
    assert refused.status_code == 401
    assert post(admin_client, f"/admin/users/{other.id}/enable").status_code == 302
    db.session.expire_all()
    assert other.active
    assert [e.after for e in audit_rows(db, "user.disable")] == [{"active": False}]
    assert [e.after for e in audit_rows(db, "user.enable")] == [{"active": True}]


def test_an_admin_cannot_disable_or_demote_themselves(admin_client, db):
    me = admin_client.admin
    demote = post(admin_client, f"/admin/users/{me.id}/role?lang=en", {"role": "viewer", "unit": "sl-snv"})
    assert demote.status_code == 409
    assert "You cannot take the administrator role away from yourself." in check_page(demote, status=409).get_text(" ")
    disable = post(admin_client, f"/admin/users/{me.id}/disable?lang=vi")
    assert disable.status_code == 409
    check_page(disable, status=409, lang="vi")
    db.session.expire_all()
    assert me.role == "admin" and me.active
    assert not audit_rows(db, "user.role_change") and not audit_rows(db, "user.disable")
    own_reset = post(admin_client, f"/admin/users/{me.id}/reset-password?lang=en")
    assert own_reset.status_code == 409 and "account page" in own_reset.get_data(as_text=True)


def test_the_last_active_admin_cannot_be_removed(app, make_user, db, unit_by_code):
    from webapp.admin.accounts import AccountRefused, change_role, set_active

    first, second = make_user("admin"), make_user("admin")
    unit = unit_by_code("sl-snv")
    assert set_active(first, second, False)  # two admins: one may go
    db.session.commit()
    for attempt in (lambda: set_active(second, first, False), lambda: change_role(second, first, "viewer", unit)):
        try:
            attempt()
        except AccountRefused as refused:
            assert "last active administrator" in str(refused) or "quản trị viên cuối cùng" in str(refused)
        else:
            raise AssertionError("the last active admin was removed")
    db.session.expire_all()
    assert first.active and first.role == "admin"


def test_user_list_filters_by_role_unit_and_state(admin_client, make_user, db):
    viewer = make_user("viewer", "sl-ttpvhcc")
    manager = make_user("agency_manager", "sl-snv")
    manager.active = False
    db.session.commit()
    viewers = admin_client.get("/admin/users?role=viewer").get_data(as_text=True)
    assert viewer.email in viewers and manager.email not in viewers
    disabled = admin_client.get("/admin/users?state=disabled").get_data(as_text=True)
    assert manager.email in disabled and viewer.email not in disabled
    by_unit = admin_client.get("/admin/users?unit=sl-snv").get_data(as_text=True)
    assert manager.email in by_unit and viewer.email not in by_unit
