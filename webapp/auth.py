"""Signing staff in and out: ``/auth/...``.

Password, then (when set up) a TOTP code; administrators must set up the second factor before
they can use the admin area. The session is cleared before a user is signed in (no session
fixation); a session carries the account's ``session_version``, so "sign out everywhere", a
password change or an admin reset ends every other session. Failed attempts lock the account
for 15 minutes after five in a row, and sign-in posts are rate limited per client address.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

import segno
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from limits import parse as parse_limit
from markupsafe import Markup
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from webapp import users
from webapp.access import SIGN_IN, declare_access, needs_second_factor_setup
from webapp.accounts import SignedInUser
from webapp.extensions import db, limiter
from webapp.forms import ConfirmForm
from webapp.models import User

auth = declare_access(Blueprint("auth", __name__, url_prefix="/auth"), SIGN_IN)

#: How long the password step stays valid while the user looks up their TOTP code.
SECOND_STEP_SECONDS = 300


class LoginForm(FlaskForm):
    email = StringField(validators=[DataRequired(_l("Enter your e-mail address")), Length(max=254)])
    password = PasswordField(validators=[DataRequired(_l("Enter your password")), Length(max=200)])


class CodeForm(FlaskForm):
    code = StringField(validators=[DataRequired(_l("Enter the 6-digit code from your authenticator app")), Length(max=12)])


class TwoFactorForm(FlaskForm):
    """Turn on (or move to a new phone) the second factor; moving needs the password again."""

    password = PasswordField(validators=[Length(max=200)])
    code = StringField(validators=[DataRequired(_l("Enter the 6-digit code from your authenticator app")), Length(max=12)])


class PasswordForm(FlaskForm):
    current = PasswordField(validators=[DataRequired(_l("Enter your current password")), Length(max=200)])
    new = PasswordField(validators=[DataRequired(_l("Enter a new password")), Length(max=200)])
    confirm = PasswordField(
        validators=[DataRequired(_l("Enter the new password again")), EqualTo("new", _l("The two new passwords differ"))]
    )


def signed_in_required(view: Callable) -> Callable:
    """Any signed-in user (used by the pages that finish setting an account up)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.path))
        return view(*args, **kwargs)

    return wrapped


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site (never another host: no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def landing_url(user: User) -> str:
    """Where a user goes after signing in: the admin area for admins, the agency area otherwise."""
    endpoint = "admin.index" if user.role == "admin" else "agency.dashboard"
    if endpoint not in current_app.view_functions:
        endpoint = "auth.account"
    return url_for(endpoint)


def _finish_sign_in(user: User, next_url: str | None) -> Any:
    session.clear()  # a new session for the signed-in user: nothing carried over (fixation)
    login_user(SignedInUser(user))
    session.permanent = True
    users.record_sign_in(user)
    db.session.commit()
    if user.must_change_password:
        return redirect(url_for("auth.change_password"))
    if needs_second_factor_setup(user):
        return redirect(url_for("auth.totp_setup"))
    return redirect(safe_next(next_url) or landing_url(user))


#: Failed sign-ins in a row, for e-mails without an account, before the "locked" answer: the
#: same count as for real accounts, so that the answers do not reveal which accounts exist.
_UNKNOWN_ACCOUNT_FAILURES = parse_limit(f"{users.MAX_FAILED_LOGINS - 1} per {int(users.LOCKOUT.total_seconds())} seconds")


def _unknown_account_lock(email: str) -> datetime | None:
    """Count a failure for an e-mail with no account; "locked until" once real accounts would be."""
    key = users.normalise_email(email)[:254]
    if limiter.limiter.hit(_UNKNOWN_ACCOUNT_FAILURES, "sign-in-unknown", key):
        return None
    reset = limiter.limiter.get_window_stats(_UNKNOWN_ACCOUNT_FAILURES, "sign-in-unknown", key).reset_time
    return datetime.fromtimestamp(reset, UTC)


def _locked_message(until) -> str:
    return str(
        _l(
            "Too many failed attempts: this account is locked until %(time)s. Wait, or ask an administrator of"
            " the Department of Home Affairs to reset your password.",
            time=format_datetime(until, "short"),
        )
    )


@auth.route("/login", methods=["GET", "POST"])
@limiter.limit("10/minute;60/hour", methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(landing_url(current_user.user))
    form = LoginForm()
    problems: list[str] = []
    status = 200
    if form.validate_on_submit():
        result = users.check_password(form.email.data, form.password.data)
        db.session.commit()  # failures and lockouts are counted and audited even when refused
        if result.ok and result.user is not None:
            user = result.user
            if user.totp_secret:
                session.clear()
                session["second_step"] = {"user": user.id, "version": user.session_version, "at": time.time()}
                session["second_step_next"] = safe_next(request.args.get("next"))
                return redirect(url_for("auth.second_step"))
            return _finish_sign_in(user, request.args.get("next"))
        locked_until = result.locked_until
        if result.user is None:
            locked_until = _unknown_account_lock(form.email.data)
        if locked_until is not None:
            problems.append(_locked_message(locked_until))
            status = 429
        else:
            problems.append(str(_l("The e-mail address or the password is not right.")))
            status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form, problems=problems), status


@auth.route("/code", methods=["GET", "POST"])
@limiter.limit("10/minute", methods=["POST"])
def second_step():
    pending = session.get("second_step")
    if not pending or time.time() - pending.get("at", 0) > SECOND_STEP_SECONDS:
        session.pop("second_step", None)
        flash(_l("Your sign-in took too long. Please enter your password again."))
        return redirect(url_for("auth.login"))
    user = db.session.get(User, pending["user"])
    if user is None or not user.active or user.session_version != pending["version"] or users.is_locked(user):
        session.clear()
        return redirect(url_for("auth.login"))
    form = CodeForm()
    problems: list[str] = []
    status = 200
    if form.validate_on_submit():
        if users.verify_totp(user, form.code.data):
            return _finish_sign_in(user, session.get("second_step_next"))
        users.record_event("user.second_factor_failed", object_type="user", object_id=user.id, actor=user.email)
        if (locked_until := users.count_failure(user)) is not None:
            return _end_locked_session(locked_until)
        db.session.commit()
        problems.append(str(_l("That code is not right, or was already used. Wait for the next code and try again.")))
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/code.html", form=form, problems=problems), status


def _end_locked_session(locked_until: datetime) -> Any:
    """Too many wrong passwords or codes: save the lock, end this session, say until when."""
    db.session.commit()
    logout_user()
    session.clear()
    flash(_locked_message(locked_until))
    return redirect(url_for("auth.login"), 303)


@auth.after_request
def _never_cache(response):
    """Sign-in pages carry secrets (TOTP keys, one-time passwords' forms): never stored by caches."""
    response.headers["Cache-Control"] = "no-store"
    return response


@auth.route("/logout", methods=["GET", "POST"])
def logout():
    form = ConfirmForm()
    if request.method == "GET":
        return render_template("auth/logout.html", form=form)
    if not form.validate_on_submit():
        abort(400)
    if current_user.is_authenticated:
        users.record_event("user.logout", object_type="user", object_id=current_user.id, actor=current_user.email)
        db.session.commit()
    logout_user()
    session.clear()
    flash(_l("You are signed out."))
    return redirect(url_for("auth.login"))


@auth.route("/account")
@signed_in_required
def account():
    return render_template("auth/account.html", form=ConfirmForm(), user=current_user.user)


@auth.route("/logout-everywhere", methods=["POST"])
@signed_in_required
def logout_everywhere():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    users.sign_out_everywhere(current_user.user)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_l("You are signed out on every device."))
    return redirect(url_for("auth.login"))


@auth.route("/password", methods=["GET", "POST"])
@limiter.limit("10/minute", methods=["POST"])
@signed_in_required
def change_password():
    user: User = current_user.user
    form = PasswordForm()
    problems: list[str] = []
    status = 200
    if form.validate_on_submit():
        if not users.check_password_hash(user.password_hash, form.current.data):
            users.record_event("user.password_check_failed", object_type="user", object_id=user.id)
            if (locked_until := users.count_failure(user)) is not None:
                return _end_locked_session(locked_until)
            db.session.commit()
            form.current.errors = [str(_l("Your current password is not right"))]
            status = 400
        elif (problem := users.password_problem(form.new.data, user.email)) is not None:
            form.new.errors = [
                str(_l("Use at least %(n)d characters", n=users.MIN_PASSWORD_LENGTH))
                if problem == "too_short"
                else str(_l("Choose a password that is harder to guess (not your e-mail, not repeated characters)"))
            ]
            status = 400
        elif form.new.data == form.current.data:
            form.new.errors = [str(_l("Choose a password different from the current one"))]
            status = 400
        else:
            users.set_password(user, form.new.data)
            db.session.commit()
            login_user(SignedInUser(user))  # this session follows the new session_version
            flash(_l("Your password is changed. Your other sessions are signed out."))
            if needs_second_factor_setup(user):
                return redirect(url_for("auth.totp_setup"))
            return redirect(landing_url(user))
    elif request.method == "POST":
        status = 400
    return render_template("auth/password.html", form=form, problems=problems, user=user), status


@auth.route("/two-factor", methods=["GET", "POST"])
@limiter.limit("10/minute", methods=["POST"])
@signed_in_required
def totp_setup():
    user: User = current_user.user
    secret = session.get("totp_setup_secret")
    if not secret:
        secret = session["totp_setup_secret"] = users.new_totp_secret()
    form = TwoFactorForm()
    replacing = bool(user.totp_secret)
    status = 200
    if form.validate_on_submit():
        if replacing and not users.check_password_hash(user.password_hash, form.password.data or ""):
            # Someone holding a stolen session must not be able to move the second factor.
            users.record_event("user.password_check_failed", object_type="user", object_id=user.id)
            if (locked_until := users.count_failure(user)) is not None:
                return _end_locked_session(locked_until)
            db.session.commit()
            form.password.errors = [str(_l("Your password is not right"))]
            status = 400
        elif users.verify_totp(user, form.code.data, secret=secret):
            user.totp_secret = secret
            user.session_version += 1  # other sessions end: they may be the reason for the change
            session.pop("totp_setup_secret", None)
            users.record_event(
                "user.second_factor_reset" if replacing else "user.second_factor_set", object_type="user", object_id=user.id
            )
            db.session.commit()
            login_user(SignedInUser(user))
            flash(_l("Two-step sign-in is on. You will be asked for a code each time you sign in."))
            return redirect(landing_url(user))
        else:
            form.code.errors = [str(_l("That code is not right. Check the time on your phone and try the next code."))]
            status = 400
    elif request.method == "POST":
        status = 400
    uri = users.totp_uri(user, secret)
    svg = segno.make(uri, error="m").svg_inline(scale=4, title=str(_l("QR code for your authenticator app")))
    qr = Markup(svg)  # noqa: S704 (segno escapes the title; the URI is built here)  # nosec B704
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return render_template("auth/two_factor.html", form=form, qr=qr, secret=grouped, user=user, replacing=replacing), status
