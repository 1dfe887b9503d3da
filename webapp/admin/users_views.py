"""Staff accounts: list, create, change role or unit, reset, disable, sign out everywhere.

One-time passwords are shown once, in the answer to the POST that made them (``no-store``),
never kept in the session or the database in clear.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from webapp import users as accounts_service
from webapp.access import editor_required
from webapp.admin.accounts import AccountRefused, change_role, remove_second_factor, set_active
from webapp.admin.blueprint import admin
from webapp.admin.common import arg_page, arg_text, paginate, unit_options
from webapp.admin.forms import ConfirmForm, NewUserForm, RoleForm
from webapp.extensions import db
from webapp.models import ROLES, Unit, User, utcnow

USER_STATES = ("active", "disabled", "locked")


def _unit_from(form: RoleForm) -> Unit | None:
    code = (form.unit.data or "").strip()
    return db.session.scalar(select(Unit).where(Unit.code == code)) if code else None


@admin.get("/users")
def users():
    role, state, unit_code = arg_text("role"), arg_text("state"), arg_text("unit", 40)
    query = select(User).order_by(User.email)
    if role in ROLES:
        query = query.where(User.role == role)
    else:
        role = ""
    if unit_code:
        query = query.join(Unit, User.unit_id == Unit.id).where(Unit.code == unit_code)
    if state == "active":
        query = query.where(User.active.is_(True))
    elif state == "disabled":
        query = query.where(User.active.is_(False))
    elif state == "locked":
        query = query.where(User.locked_until > utcnow())
    else:
        state = ""
    return render_template(
        "admin/users.html",
        page=paginate(query, arg_page()),
        role=role,
        state=state,
        unit_code=unit_code,
        roles=ROLES,
        now=utcnow(),
    )


def _password_page(new: accounts_service.NewPassword, created: bool):
    # Shown once; the admin blueprint's no-store keeps it out of every cache.
    return render_template("admin/user_password.html", user=new.user, password=new.password, created=created)


@admin.route("/users/new", methods=["GET", "POST"])
@editor_required
def user_new():
    form = NewUserForm()
    status = 200
    if form.validate_on_submit():
        unit = _unit_from(form)
        if form.role.data != "admin" and unit is None:
            form.unit.errors = [str(_l("Choose the unit this person works for"))]
            status = 400
        elif accounts_service.find_user(form.email.data) is not None:
            form.email.errors = [str(_l("An account with this e-mail address already exists"))]
            status = 400
        else:
            new = accounts_service.create_user(form.email.data, form.role.data, unit)
            db.session.commit()
            return _password_page(new, created=True)
    elif request.method == "POST":
        status = 400
    return render_template("admin/user_new.html", form=form, units=unit_options(form.unit.data)), status


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _render_user(user: User, role_form: RoleForm | None = None, problems: tuple = (), status: int = 200):
    role_form = role_form or RoleForm(formdata=None, role=user.role, unit=user.unit.code if user.unit else "")
    return render_template(
        "admin/user.html",
        user=user,
        role_form=role_form,
        confirm=ConfirmForm(),
        problems=problems,
        units=unit_options(role_form.unit.data),
        is_self=user.id == current_user.id,
        locked=accounts_service.is_locked(user),
    ), status


@admin.get("/users/<int:user_id>")
def user_detail(user_id: int):
    return _render_user(_user(user_id))


@admin.post("/users/<int:user_id>/role")
@editor_required
def user_role(user_id: int):
    user = _user(user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        return _render_user(user, form, status=400)
    unit = _unit_from(form)
    if form.unit.data and unit is None:
        form.unit.errors = [str(_l("Choose the unit this person works for"))]
        return _render_user(user, form, status=400)
    try:
        changed = change_role(current_user.user, user, form.role.data, unit)
    except AccountRefused as refused:
        db.session.rollback()
        return _render_user(_user(user_id), form, problems=(str(refused.message),), status=409)
    if changed:
        db.session.commit()
        flash(_l("Role and unit saved. The person's sessions are signed out, so the new rights apply at once."))
    return redirect(url_for("admin.user_detail", user_id=user.id))


def _confirmed() -> None:
    if not ConfirmForm().validate_on_submit():
        abort(400)


@admin.post("/users/<int:user_id>/reset-password")
@editor_required
def user_reset_password(user_id: int):
    user = _user(user_id)
    _confirmed()
    if user.id == current_user.id:
        return _render_user(user, problems=(str(_l("Change your own password on your account page.")),), status=409)
    new = accounts_service.reset_password(user)
    db.session.commit()
    return _password_page(new, created=False)


@admin.post("/users/<int:user_id>/remove-two-factor")
@editor_required
def user_remove_two_factor(user_id: int):
    user = _user(user_id)
    _confirmed()
    if user.id == current_user.id:
        return _render_user(
            user, problems=(str(_l("Set up two-step sign-in on a new phone from your account page.")),), status=409
        )
    if remove_second_factor(user):
        db.session.commit()
        flash(_l("Two-step sign-in is removed. The person sets it up again at the next sign-in."))
    return redirect(url_for("admin.user_detail", user_id=user.id))


@admin.post("/users/<int:user_id>/disable")
@editor_required
def user_disable(user_id: int):
    return _set_active(user_id, False)


@admin.post("/users/<int:user_id>/enable")
@editor_required
def user_enable(user_id: int):
    return _set_active(user_id, True)


def _set_active(user_id: int, active: bool):
    user = _user(user_id)
    _confirmed()
    try:
        changed = set_active(current_user.user, user, active)
    except AccountRefused as refused:
        db.session.rollback()
        return _render_user(_user(user_id), problems=(str(refused.message),), status=409)
    if changed:
        db.session.commit()
        flash(_l("The account is enabled.") if active else _l("The account is disabled and signed out everywhere."))
    return redirect(url_for("admin.user_detail", user_id=user.id))


@admin.post("/users/<int:user_id>/sign-out")
@editor_required
def user_sign_out(user_id: int):
    user = _user(user_id)
    _confirmed()
    accounts_service.sign_out_everywhere(user)
    db.session.commit()
    flash(_l("Every session of this account is signed out."))
    return redirect(url_for("admin.user_detail", user_id=user.id))
