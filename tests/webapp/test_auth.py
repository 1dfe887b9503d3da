"""Signing staff in and out: passwords, second factor, lockout, fixation, sign out everywhere."""

from __future__ import annotations

import re

import pyotp
import pytest
from sqlalchemy import select

from tests.conftest import STAFF_PASSWORD, csrf_from, next_totp_code
from webapp.extensions import db
from webapp.models import AuditEvent, User


def post_login(client, email, password=STAFF_PASSWORD, **headers):
    page = client.get("/auth/login")
    return client.post(
        "/auth/login", data={"csrf_token": csrf_from(page), "email": email, "password": password}, headers=headers
    )


def actions(user=None) -> list[str]:
    query = select(AuditEvent.action).order_by(AuditEvent.id)
    if user is not None:
        query = query.where(AuditEvent.object_id == str(user.id))
    return list(db.session.scalars(query))


def test_login_page_is_vietnamese_and_has_labelled_fields(client, db):
    page = client.get("/auth/login")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Đăng nhập" in html
    assert 'autocomplete="current-password"' in html and 'type="password"' in html


def test_manager_without_second_factor_signs_in_and_sees_own_account(client, make_user):
    user = make_user("agency_manager", "sl-ttpvhcc", totp=False)
    answer = post_login(client, user.email)
    assert answer.status_code == 302
    account = client.get("/auth/account")
    assert account.status_code == 200 and user.email in account.get_data(as_text=True)
    assert "user.login" in actions(user)


def test_wrong_password_and_unknown_email_get_the_same_answer(client, make_user):
    user = make_user("viewer", "sl-ttpvhcc", totp=False)
    wrong = post_login(client, user.email, "not the password at all", **{"Accept-Language": "en"})
    unknown = post_login(client, "nobody@sonla.gov.vn", "not the password at all", **{"Accept-Language": "en"})
    assert wrong.status_code == unknown.status_code == 401
    message = "The e-mail address or the password is not right."
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)
    assert client.get("/auth/account").status_code == 302


def test_repeated_failures_make_that_address_wait_even_for_the_right_password(app, client, make_user):
    """Throttled per (e-mail, address), never locked: the account still opens from elsewhere."""
    user = make_user("agency_manager", "sl-ttpvhcc", totp=False)
    for _ in range(5):
        post_login(client, user.email, "wrong password 123")
    waiting = post_login(client, user.email, STAFF_PASSWORD, **{"Accept-Language": "en"})
    assert waiting.status_code == 429
    assert "Too many failed attempts" in waiting.get_data(as_text=True)
    assert "user.login_failed" in actions(user) and "user.login_refused" in actions(user)
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "10.9.8.7"
    page = elsewhere.get("/auth/login")
    answer = elsewhere.post(
        "/auth/login", data={"csrf_token": csrf_from(page), "email": user.email, "password": STAFF_PASSWORD}
    )
    assert answer.status_code == 302
    db.session.refresh(user)
    assert user.locked_until is None


def test_sign_in_posts_are_rate_limited_per_address(client, make_user):
    statuses = [post_login(client, f"x{i}@sonla.gov.vn", "whatever password").status_code for i in range(12)]
    assert statuses[:10] == [401] * 10
    assert statuses[-1] == 429


def test_admin_needs_the_code_and_a_code_cannot_be_replayed(app, client, make_user):
    admin = make_user("admin")
    first = post_login(client, admin.email)
    assert first.headers["Location"].endswith("/auth/code")
    assert client.get("/auth/account").status_code == 302  # the password alone signs nobody in
    code = next_totp_code(admin)
    page = client.get("/auth/code")
    assert client.post("/auth/code", data={"csrf_token": csrf_from(page), "code": code}).status_code == 302
    assert client.get("/auth/account").status_code == 200

    other = app.test_client()
    post_login(other, admin.email)
    page = other.get("/auth/code")
    replay = other.post("/auth/code", data={"csrf_token": csrf_from(page), "code": code})
    assert replay.status_code == 401
    assert other.get("/auth/account").status_code == 302


def test_admin_without_second_factor_must_set_it_up(client, make_user):
    admin = make_user("admin", totp=False)
    answer = post_login(client, admin.email)
    assert answer.headers["Location"].endswith("/auth/two-factor")
    page = client.get("/auth/two-factor")
    html = page.get_data(as_text=True)
    assert "<svg" in html
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', html).group(1).replace(" ", "")
    code = pyotp.TOTP(secret).now()
    # The password is asked again, the first time too (a stolen session must not set it up).
    done = client.post(
        "/auth/two-factor", data={"csrf_token": csrf_from(page), "code": code, "password": STAFF_PASSWORD}
    )
    assert done.status_code == 302
    db.session.refresh(admin)
    assert admin.totp_secret == secret


def test_one_time_password_must_be_changed_first(runner, client, registry):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "Chi.Manager@SonLa.gov.vn",
            "--role",
            "agency_manager",
            "--unit",
            "sl-ttpvhcc",
        ]
    )
    assert result.exit_code == 0, result.output
    password = re.search(r"One-time password: (\S+)", result.output).group(1)
    user = db.session.scalar(select(User).where(User.email == "chi.manager@sonla.gov.vn"))
    assert user.must_change_password and user.password_hash.startswith("scrypt:")
    assert password not in user.password_hash

    assert post_login(client, "chi.manager@sonla.gov.vn", password).headers["Location"].endswith("/auth/password")
    page = client.get("/auth/password")
    short = client.post(
        "/auth/password", data={"csrf_token": csrf_from(page), "current": password, "new": "short", "confirm": "short"}
    )
    assert short.status_code == 400
    new = "mây trắng trên đèo Pha Đin"
    done = client.post(
        "/auth/password", data={"csrf_token": csrf_from(page), "current": password, "new": new, "confirm": new}
    )
    assert done.status_code == 302
    db.session.refresh(user)
    assert not user.must_change_password


def test_users_create_refuses_bad_input(runner, registry):
    assert runner.invoke(args=["users", "create", "--email", "v@sonla.gov.vn", "--role", "viewer"]).exit_code != 0
    assert (
        runner.invoke(
            args=["users", "create", "--email", "v@sonla.gov.vn", "--role", "viewer", "--unit", "nope"]
        ).exit_code
        != 0
    )
    assert runner.invoke(args=["users", "create", "--email", "not-an-email", "--role", "admin"]).exit_code != 0
    assert db.session.scalar(select(User)) is None


def test_session_is_new_after_sign_in(client, make_user):
    """Whatever was in the session before signing in is gone (no fixation, nothing carried over)."""
    user = make_user("viewer", "sl-ttpvhcc", totp=False)
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    post_login(client, user.email)
    with client.session_transaction() as session:
        assert "planted" not in session


def test_sign_out_everywhere_ends_other_sessions(app, client, make_user, sign_in):
    user = make_user("agency_manager", "sl-ttpvhcc", totp=False)
    laptop = sign_in(user)
    phone = sign_in(user, app.test_client())
    assert phone.get("/auth/account").status_code == 200
    page = laptop.get("/auth/account")
    assert laptop.post("/auth/logout-everywhere", data={"csrf_token": csrf_from(page)}).status_code == 302
    assert phone.get("/auth/account").status_code == 302
    assert laptop.get("/auth/account").status_code == 302


def test_admin_reset_password_unlocks_and_signs_out(runner, client, make_user, sign_in):
    user = make_user("agency_manager", "sl-ttpvhcc", totp=False)
    sign_in(user)
    result = runner.invoke(args=["users", "reset-password", "--email", user.email])
    assert result.exit_code == 0
    assert client.get("/auth/account").status_code == 302


def test_sign_out_needs_a_post_with_csrf(client, make_user, sign_in):
    user = make_user("viewer", "sl-ttpvhcc", totp=False)
    sign_in(user)
    assert client.post("/auth/logout").status_code == 400
    assert client.get("/auth/account").status_code == 200
    page = client.get("/auth/logout")
    assert client.post("/auth/logout", data={"csrf_token": csrf_from(page)}).status_code == 302
    assert client.get("/auth/account").status_code == 302


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example"])
def test_next_never_leaves_the_site(client, make_user, target):
    user = make_user("viewer", "sl-ttpvhcc", totp=False)
    page = client.get("/auth/login")
    answer = client.post(
        f"/auth/login?next={target}",
        data={"csrf_token": csrf_from(page), "email": user.email, "password": STAFF_PASSWORD},
    )
    assert "evil.example" not in answer.headers["Location"]


def test_unknown_and_real_accounts_are_locked_alike(client, make_user):
    """The lockout answer does not reveal which e-mail addresses have an account."""
    real = make_user("viewer", "sl-ttpvhcc", totp=False)
    statuses = {}
    for email in (real.email, "nobody@sonla.gov.vn"):
        statuses[email] = [post_login(client, email, "wrong password 123").status_code for _ in range(6)]
    assert statuses[real.email] == statuses["nobody@sonla.gov.vn"] == [401, 401, 401, 401, 429, 429]


def test_moving_the_second_factor_needs_the_password_and_ends_other_sessions(app, client, make_user, sign_in):
    admin = make_user("admin")
    sign_in(admin)
    other = sign_in(admin, app.test_client())
    page = client.get("/auth/two-factor")
    html = page.get_data(as_text=True)
    assert 'autocomplete="current-password"' in html
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', html).group(1).replace(" ", "")
    refused = client.post("/auth/two-factor", data={"csrf_token": csrf_from(page), "code": pyotp.TOTP(secret).now()})
    assert refused.status_code == 400
    db.session.refresh(admin)
    assert admin.totp_secret != secret
    moved = client.post(
        "/auth/two-factor",
        data={"csrf_token": csrf_from(page), "code": pyotp.TOTP(secret).now(), "password": STAFF_PASSWORD},
    )
    assert moved.status_code == 302
    db.session.refresh(admin)
    assert admin.totp_secret == secret
    assert client.get("/auth/account").status_code == 200
    assert other.get("/auth/account").status_code == 302


def test_guessing_the_current_password_is_throttled(client, make_user, sign_in):
    """Guesses wait longer and longer; the session goes on and the account is not locked."""
    user = make_user("agency_manager", "sl-ttpvhcc", totp=False)
    sign_in(user)
    for attempt in range(5):
        page = client.get("/auth/password")
        answer = client.post(
            "/auth/password",
            data={
                "csrf_token": csrf_from(page),
                "current": f"guess {attempt} wrong",
                "new": "x" * 20,
                "confirm": "x" * 20,
            },
        )
    assert answer.status_code == 429
    assert "user.password_check_failed" in actions(user)
    db.session.refresh(user)
    assert user.locked_until is None
    assert client.get("/auth/account").status_code == 200


def test_sign_in_pages_are_never_cached(client, make_user, sign_in):
    sign_in(make_user("admin"))
    for path in ("/auth/login", "/auth/two-factor", "/auth/account"):
        assert client.get(path).headers["Cache-Control"] == "no-store"
