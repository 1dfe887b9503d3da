"""Signing staff in and out: ``/auth/...``.

Password, then (when set up) a TOTP code; administrators must set up the second factor before
they can use the admin area, and setting it up (the first time too) needs the password. The
session is cleared before a user is signed in (no session fixation), and each signed-in
session has a server-side row: "Sign out" ends it, "sign out everywhere", a password change
or an admin reset end every row of the account (see :mod:`webapp.users`).

Wrong passwords and codes are throttled per (e-mail, client address) with growing waits; no
account is ever locked and no session ended by someone else's failures. Known and unknown
e-mails get the same answers. Sign-in posts are also rate limited per client address.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

import segno
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from webapp import users
from webapp.access import SIGN_IN, declare_access, needs_second_factor_setup
from webapp.accounts import SESSION_ID_KEY, SignedInUser
from webapp.extensions import db, limiter
from webapp.forms import ConfirmForm
from webapp.models import User
from webapp.urls import safe_next

auth = declare_access(Blueprint("auth", __name__, url_prefix="/auth"), SIGN_IN)

#: How long the password step stays valid while the user looks up their TOTP code.
SECOND_STEP_SECONDS = 300


class LoginForm(FlaskForm):
    email = StringField(validators=[DataRequired(_l("Enter your e-mail address")), Length(max=254)])
    password = PasswordField(validators=[DataRequired(_l("Enter your password")), Length(max=200)])


class CodeForm(FlaskForm):
    code = StringField(
        validators=[DataRequired(_l("Enter the 6-digit code from your authenticator app")), Length(max=12)]
    )


class TwoFactorForm(FlaskForm):
    """Turn on (or move to a new phone) the second factor: always with the password again."""

    password = PasswordField(validators=[DataRequired(_l("Enter your password")), Length(max=200)])
    code = StringField(
        validators=[DataRequired(_l("Enter the 6-digit code from your authenticator app")), Length(max=12)]
    )


class PasswordForm(FlaskForm):
    current = PasswordField(validators=[DataRequired(_l("Enter your current password")), Length(max=200)])
    new = PasswordField(validators=[DataRequired(_l("Enter a new password")), Length(max=200)])
    confirm = PasswordField(
        validators=[
            DataRequired(_l("Enter the new password again")),
            EqualTo("new", _l("The two new passwords differ")),
        ]
    )


def signed_in_required(view: Callable) -> Callable:
    """Any signed-in user (used by the pages that finish setting an account up)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.path))
        return view(*args, **kwargs)

    return wrapped


def _client_address() -> str:
    """The client's address (the proxy's forwarded one when PROXY_FIX_X_FOR trusts it)."""
    return request.remote_addr or "-"


def landing_url(user: User) -> str:
    """Where a user goes after signing in: the admin area for admins, the interview area for
    interviewers, the agency area otherwise."""
    endpoint = {"admin": "admin.index", "interviewer": "interview.index"}.get(user.role, "agency.dashboard")
    if endpoint not in current_app.view_functions:
        endpoint = "auth.account"
    return url_for(endpoint)


def _start_signed_in_session(user: User) -> None:
    """A new session for ``user`` in this browser: nothing carried over (fixation), a new server row."""
    session.clear()
    session[SESSION_ID_KEY] = users.start_session(user)
    login_user(SignedInUser(user))
    session.permanent = True


def _finish_sign_in(user: User, next_url: str | None) -> Any:
    _start_signed_in_session(user)
    users.record_sign_in(user)
    db.session.commit()
    if user.must_change_password:
        return redirect(url_for("auth.change_password"))
    if needs_second_factor_setup(user):
        return redirect(url_for("auth.totp_setup"))
    return redirect(safe_next(next_url) or landing_url(user))


def _throttled(seconds: int, template: str, **context: Any) -> Any:
    """The "wait" answer: the same for every e-mail, known or not (429 with Retry-After)."""
    problem = ngettext(
        "Too many failed attempts from this device for this account. Wait %(num)d second and try again, or ask"
        " an administrator of the Department of Home Affairs to reset your password.",
        "Too many failed attempts from this device for this account. Wait %(num)d seconds and try again, or ask"
        " an administrator of the Department of Home Affairs to reset your password.",
        seconds,
    )
    response = current_app.make_response((render_template(template, problems=[str(problem)], **context), 429))
    response.headers["Retry-After"] = str(seconds)
    return response


@auth.route("/login", methods=["GET", "POST"])
@limiter.limit("10/minute;60/hour", methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(landing_url(current_user.user))
    form = LoginForm()
    problems: list[str] = []
    status = 200
    if form.validate_on_submit():
        result = users.check_password(form.email.data, form.password.data, _client_address())
        db.session.commit()  # failures are counted and audited even when refused
        if result.throttled:
            return _throttled(result.retry_after, "auth/login.html", form=form)
        if result.ok and result.user is not None:
            user = result.user
            if user.totp_secret:
                session.clear()
                session["second_step"] = {"user": user.id, "version": user.session_version, "at": time.time()}
                session["second_step_next"] = safe_next(request.args.get("next"))
                return redirect(url_for("auth.second_step"))
            return _finish_sign_in(user, request.args.get("next"))
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
    if user is None or not user.active or user.session_version != pending["version"]:
        session.clear()
        return redirect(url_for("auth.login"))
    form = CodeForm()
    problems: list[str] = []
    status = 200
    if form.validate_on_submit():
        if wait := users.throttle_wait(user.email, _client_address()):
            return _throttled(wait, "auth/code.html", form=form)
        if users.verify_totp(user, form.code.data):
            users.clear_throttles(user.email, _client_address())  # the password's were cleared by check_password
            return _finish_sign_in(user, session.get("second_step_next"))
        users.record_event("user.second_factor_failed", object_type="user", object_id=user.id, actor=user.email)
        users.count_failure(user.email, _client_address())
        db.session.commit()
        problems.append(str(_l("That code is not right, or was already used. Wait for the next code and try again.")))
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/code.html", form=form, problems=problems), status


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
    users.end_session(session.get(SESSION_ID_KEY))  # a copy of this cookie no longer signs anyone in
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
        check = users.check_current_password(user, form.current.data, _client_address())
        db.session.commit()
        if check.throttled:
            return _throttled(check.retry_after, "auth/password.html", form=form, user=user)
        if not check.ok:
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
            users.set_password(user, form.new.data)  # ends every session, this one too
            _start_signed_in_session(user)  # ... and this browser goes on in a new one
            db.session.commit()
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
        # Someone holding a stolen session must not be able to set up or move the second factor.
        check = users.check_current_password(user, form.password.data, _client_address())
        db.session.commit()
        if check.throttled:
            return _throttled(check.retry_after, "auth/two_factor.html", **_two_factor_context(user, secret, form))
        if not check.ok:
            form.password.errors = [str(_l("Your password is not right"))]
            status = 400
        elif users.verify_totp(user, form.code.data, secret=secret):
            user.totp_secret = secret
            users.end_all_sessions(user)  # other sessions end: they may be the reason for the change
            session.pop("totp_setup_secret", None)
            users.record_event(
                "user.second_factor_reset" if replacing else "user.second_factor_set",
                object_type="user",
                object_id=user.id,
            )
            _start_signed_in_session(user)
            db.session.commit()
            flash(_l("Two-step sign-in is on. You will be asked for a code each time you sign in."))
            return redirect(landing_url(user))
        else:
            form.code.errors = [str(_l("That code is not right. Check the time on your phone and try the next code."))]
            status = 400
    elif request.method == "POST":
        status = 400
    return render_template("auth/two_factor.html", **_two_factor_context(user, secret, form)), status


def _two_factor_context(user: User, secret: str, form: TwoFactorForm) -> dict[str, Any]:
    uri = users.totp_uri(user, secret)
    svg = segno.make(uri, error="m").svg_inline(scale=4, title=str(_l("QR code for your authenticator app")))
    qr = Markup(svg)  # noqa: S704 (segno escapes the title; the URI is built here)  # nosec B704
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return {"form": form, "qr": qr, "secret": grouped, "user": user, "replacing": bool(user.totp_secret)}
